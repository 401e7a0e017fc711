/** Liveness, readiness and Prometheus metrics. */
import type { FastifyInstance } from 'fastify'
import type { ApiComponents } from '../server.ts'

export function registerHealthRoutes (app: FastifyInstance, components: Pick<ApiComponents, 'control' | 'metrics'>): void {
  app.get('/healthz', async () => ({ ok: true }))
  app.get('/readyz', async (_request, reply) => {
    const ready = components.control.ready()
    return await reply.status(ready ? 200 : 503).send({ ready })
  })
  app.get('/metrics', async (_request, reply) => {
    const text = await components.metrics.metrics()
    return await reply.type(components.metrics.contentType).send(text)
  })
}
