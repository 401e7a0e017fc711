/**
 * Packages (docs/packages.md, docs/api.md "Packages"): search the catalogue,
 * see one package, install, publish from a path on the node, and manage
 * what is installed (list, remove, pin, verify, gc, CAR and Ollama export,
 * CAR import). The `PackageApi` behind it is the packages room's front door;
 * without one every route answers 503 E1470.
 *
 * Install and publish take long: with `?progress=1` or `Accept:
 * text/event-stream` they answer server-sent events — progress (at most one
 * every PROGRESS_INTERVAL_MS, plus each change of phase), then the result or
 * the error as the last event.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import { AgoraError, messageOf } from '../../errors.ts'
import { ROUTES, API_PREFIX } from '../../client/routes.ts'
import { exportBody, importBody, installBody, progressQuery, publishBody, searchQuery, specQuery, verifyBody, type ExportJson, type ProgressEvent } from '../../client/packages-schemas.ts'
import type { PackageApi, TransferProgress } from '../../packages/types.ts'
import type { AgoraLogger } from '../../observability/logger.ts'
import { abortOnClose } from './control.ts'
import { SseWriter, abortOnDisconnect } from './sse.ts'

const path = (full: string): string => full.slice(API_PREFIX.length)

/** Fewest milliseconds between two progress events of one phase (a bar redraws no faster). */
export const PROGRESS_INTERVAL_MS = 100

export interface PackagesRoutesComponents {
  packages?: PackageApi | undefined
  logger: AgoraLogger
}

export function registerPackagesRoutes (app: FastifyInstance, { packages, logger }: PackagesRoutesComponents): void {
  const log = logger.forComponent('agora:api:packages')
  const api = (): PackageApi => {
    if (packages === undefined) throw new AgoraError('E1470', 'packages are not available on this node')
    return packages
  }

  app.get(path(ROUTES.packageSearch.path), async request => {
    const { q, kind, limit, timeout, local } = parsePackages(searchQuery, request.query, 'query')
    return await api().search({ text: q, ...(kind === undefined ? {} : { kind }), ...(limit === undefined ? {} : { limit }), ...(timeout === undefined ? {} : { timeoutMs: timeout }), ...(local === true ? { localOnly: true } : {}) })
  })
  app.get(path(ROUTES.packageInfo.path), async request => await api().info(parsePackages(specQuery, request.query, 'query').spec))
  app.get(path(ROUTES.packages.path), async () => api().list())
  app.delete(path(ROUTES.removePackage.path), async request => await api().remove(parsePackages(specQuery, request.query, 'query').spec))
  app.post(path(ROUTES.pinPackage.path), async request => api().pin(parsePackages(specQuery, request.body, 'body').spec, true))
  app.post(path(ROUTES.unpinPackage.path), async request => api().pin(parsePackages(specQuery, request.body, 'body').spec, false))
  app.post(path(ROUTES.verifyPackages.path), async request => await api().verify(parsePackages(verifyBody, request.body, 'body').spec))
  app.post(path(ROUTES.gcPackages.path), async () => await api().gc())

  app.post(path(ROUTES.installPackage.path), async (request, reply) => {
    const { spec, trustPublisher, pin } = parsePackages(installBody, request.body, 'body')
    const service = api()
    const init = { spec, ...(trustPublisher === undefined ? {} : { trustPublisher }), ...(pin === undefined ? {} : { pin }) }
    if (!wantsProgress(request)) return await service.install({ ...init, signal: abortOnClose(request) })
    await streamProgress(reply, log, async (onProgress, signal) => await service.install({ ...init, signal, onProgress }))
  })
  app.post(path(ROUTES.publishPackage.path), async (request, reply) => {
    const body = parsePackages(publishBody, request.body, 'body')
    const service = api()
    if (!wantsProgress(request)) return await service.publish(body)
    await streamProgress(reply, log, async onProgress => await service.publish(body, onProgress))
  })

  app.post(path(ROUTES.exportPackage.path), async (request): Promise<ExportJson> => {
    const { spec, car, ollama } = parsePackages(exportBody, request.body, 'body')
    if (car !== undefined) return { car: await api().exportCar(spec, car) }
    const { model, modelsDir } = ollama ?? {}
    return { ollama: await api().exportOllama(spec, { ...(model === undefined ? {} : { model }), ...(modelsDir === undefined ? {} : { modelsDir }) }) }
  })
  app.post(path(ROUTES.importPackage.path), async request => {
    const { path: file, trustPublisher } = parsePackages(importBody, request.body, 'body')
    return await api().importCar(file, { signal: abortOnClose(request), ...(trustPublisher === undefined ? {} : { trustPublisher }) })
  })
}

/**
 * Validate with one schema; a failure names the field: E1472 for a package
 * spec, E1471 for anything else.
 */
export function parsePackages<S extends z.ZodType> (schema: S, value: unknown, where: string): z.infer<S> {
  const result = schema.safeParse(value ?? {})
  if (result.success) return result.data
  const issue = result.error.issues[0]
  const field = issue === undefined || issue.path.length === 0 ? where : `${where}.${issue.path.join('.')}`
  const code = issue?.path.at(-1) === 'spec' ? 'E1472' : 'E1471'
  throw new AgoraError(code, `invalid ${field}`, { why: issue?.message, details: { issues: result.error.issues } })
}

function wantsProgress (request: FastifyRequest): boolean {
  const { progress } = parsePackages(progressQuery, request.query, 'query')
  if (progress !== undefined) return progress
  return (request.headers.accept ?? '').includes('text/event-stream')
}

type Work<R> = (onProgress: (progress: TransferProgress) => void, signal: AbortSignal) => Promise<R>

/** Run `work`, streaming its progress then its result (or error) as server-sent events; always ends the response. */
async function streamProgress<R> (reply: FastifyReply, log: ReturnType<AgoraLogger['forComponent']>, work: Work<R>): Promise<void> {
  reply.hijack()
  const sse = new SseWriter(reply.raw)
  const gone = abortOnDisconnect(reply.raw, () => new AgoraError('E1475', 'the client went away before the work finished'))
  sse.open()
  // progress comes synchronously, as often as blocks arrive: keep the newest, send one at a time
  let unsent: TransferProgress | undefined
  let lastSentAt = 0
  let lastPhase: TransferProgress['phase'] | undefined
  let chain: Promise<unknown> = Promise.resolve()
  const send = (event: ProgressEvent<R>): Promise<unknown> => (chain = chain.then(async () => await sse.send(event)))
  const onProgress = (progress: TransferProgress): void => {
    const now = Date.now()
    if (progress.phase === lastPhase && now - lastSentAt < PROGRESS_INTERVAL_MS) { unsent = progress; return }
    unsent = undefined
    lastSentAt = now
    lastPhase = progress.phase
    void send({ type: 'progress', progress })
  }
  try {
    const result = await work(onProgress, gone.signal)
    if (unsent !== undefined) void send({ type: 'progress', progress: unsent })
    await send({ type: 'result', result })
  } catch (err) {
    if (gone.signal.aborted) {
      log.debug('the client went away mid-stream; the work was cancelled')
      return
    }
    const error = err instanceof AgoraError ? err : new AgoraError('E599', 'internal error', { why: messageOf(err), cause: err })
    if (error.code === 'E599') log.error({ err }, 'a streamed package operation failed')
    await send({ type: 'error', error: error.toJSON() })
  } finally {
    await chain.catch(() => {})
    sse.end()
  }
}
