/**
 * Reading a streamed publish or install (`?progress=1`): server-sent events,
 * each a `ProgressEvent` — progress handed to `onProgress` as it comes, then
 * the result (resolved) or an error (thrown as the AgoraError it names).
 * An answer that is not a stream (a 4xx before the work began) is read as
 * the API's error shape.
 */
import { createRequire } from 'node:module'
import type * as Http from 'node:http'
import { AgoraError, errorFromBody, messageOf, type ErrorBody } from '../errors.ts'
import type { ProgressEvent, TransferProgress } from './packages-schemas.ts'

const { request: httpRequest } = createRequire(import.meta.url)('node:http') as typeof Http

/** Largest single event accepted (a result carries a manifest: well under this). */
const MAX_EVENT_CHARS = 8 * 1024 * 1024

export interface ProgressStreamInit {
  url: string
  token: string | undefined
  /** Give up when nothing arrives for this long (ms); 0 waits for ever. */
  idleTimeoutMs: number
  onProgress?: ((progress: TransferProgress) => void) | undefined
  signal?: AbortSignal | undefined
}

/** POST `body` as JSON to `path` (with `?progress=1`) and follow the events to the result. */
export async function postWithProgress<R> (path: string, body: unknown, init: ProgressStreamInit): Promise<R> {
  const payload = JSON.stringify(body)
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' }
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
  const target = `${path}${path.includes('?') ? '&' : '?'}progress=1`
  return await new Promise<R>((resolve, reject) => {
    let settled = false
    const settle = (fn: () => void): void => { if (!settled) { settled = true; fn() } }
    const req = httpRequest(init.url + target, { method: 'POST', headers, timeout: init.idleTimeoutMs, ...(init.signal === undefined ? {} : { signal: init.signal }) }, res => {
      res.setEncoding('utf8')
      let buffer = ''
      const streamed = (res.headers['content-type'] ?? '').startsWith('text/event-stream')
      res.on('data', (chunk: string) => {
        buffer += chunk
        if (!streamed) return
        if (buffer.length > MAX_EVENT_CHARS) { req.destroy(new AgoraError('E1475', `an event from the node at ${init.url} was over ${MAX_EVENT_CHARS} characters`)); return }
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          let event: ProgressEvent<R> | undefined
          try {
            event = readEvent<R>(block)
          } catch (err) {
            req.destroy(err as Error)
            return
          }
          if (event === undefined) continue
          if (event.type === 'progress') init.onProgress?.(event.progress)
          else if (event.type === 'result') settle(() => { resolve(event.result) })
          else settle(() => { reject(errorFromBody(event.error)) })
        }
      })
      res.on('end', () => {
        if (streamed) { settle(() => { reject(new AgoraError('E1475', `the node at ${init.url} ended POST ${path} without a result`)) }); return }
        let error: ErrorBody | undefined
        try { error = (JSON.parse(buffer) as { error?: ErrorBody }).error } catch { /* not our error shape */ }
        settle(() => { reject(error === undefined ? new AgoraError('E1475', `the node answered POST ${path} with HTTP ${res.statusCode ?? 0}, not a stream`) : errorFromBody(error)) })
      })
      res.on('error', err => { settle(() => { reject(err) }) })
    })
    req.on('timeout', () => { req.destroy(new AgoraError('E204', `the node at ${init.url} sent nothing on POST ${path} for ${init.idleTimeoutMs} ms`)) })
    req.on('error', err => {
      settle(() => { reject(err instanceof AgoraError ? err : new AgoraError(init.signal?.aborted === true ? 'E1475' : 'E601', init.signal?.aborted === true ? `POST ${path} was cancelled` : `cannot reach the node at ${init.url}`, { why: messageOf(err), cause: err })) })
    })
    req.end(payload)
  })
}

/** The `data:` of one event block, parsed; undefined for comments and keep-alives. */
function readEvent<R> (block: string): ProgressEvent<R> | undefined {
  const data = block.split('\n').filter(line => line.startsWith('data:')).map(line => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n')
  if (data === '') return undefined
  try {
    return JSON.parse(data) as ProgressEvent<R>
  } catch {
    throw new AgoraError('E1475', 'the node sent a progress event that is not JSON', { why: data.slice(0, 200) })
  }
}
