/**
 * GET /api/v1/logs: the node's recent log lines as JSON lines (pino's
 * records), the last `lines` at `level` or above; with `follow=1` the
 * response stays open and each new line follows. A reader that falls more
 * than MAX_BUFFERED_BYTES behind is cut off, never buffered without bound.
 */
import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { ROUTES, API_PREFIX } from '../../client/routes.ts'
import { logsQuery } from '../../client/schemas.ts'
import { LOG_LEVELS, type LogLine } from '../../observability/log-ring.ts'
import { parse } from './control.ts'
import type { ApiComponents } from '../server.ts'

const MAX_BUFFERED_BYTES = 1024 * 1024

export function registerLogsRoute (app: FastifyInstance, { logger }: Pick<ApiComponents, 'logger'>): void {
  const following = new Set<ServerResponse>()
  // a stopping node ends its followed logs cleanly (the reader sees an end, not a cut connection)
  app.addHook('preClose', async () => { for (const raw of following) raw.end() })
  app.get(ROUTES.logs.path.slice(API_PREFIX.length), async (request, reply) => {
    const query = parse(logsQuery, request.query, 'query')
    const minLevel = query.level === undefined ? 0 : LOG_LEVELS[query.level] ?? 0
    const recent = logger.recent.tail(query.lines, minLevel)
    if (!query.follow) {
      void reply.type('application/x-ndjson; charset=utf-8')
      return recent.map(line => line.text + '\n').join('')
    }
    const raw = reply.raw
    reply.hijack()
    raw.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' })
    for (const line of recent) raw.write(line.text + '\n')
    const stop = logger.recent.follow((line: LogLine) => {
      if (line.level < minLevel) return
      if (raw.writableLength > MAX_BUFFERED_BYTES) { raw.destroy(); return }
      raw.write(line.text + '\n')
    })
    following.add(raw)
    raw.once('close', () => { stop(); following.delete(raw) })
  })
}
