/** Control API for /v1 keys (control token): create (the secret is answered once), list, revoke. */
import type { FastifyInstance } from 'fastify'
import { ROUTES, API_PREFIX } from '../../client/routes.ts'
import { createKeyBody, keyIdParam } from '../../client/schemas.ts'
import type { ApiKeys } from '../keys/index.ts'
import { parse } from './control.ts'

const path = (full: string): string => full.slice(API_PREFIX.length)

export function registerKeysRoutes (app: FastifyInstance, { keys }: { keys: Pick<ApiKeys, 'create' | 'list' | 'revoke'> }): void {
  app.get(path(ROUTES.keys.path), async () => keys.list())
  app.post(path(ROUTES.createKey.path), async (request, reply) => {
    const { name } = parse(createKeyBody, request.body, 'body')
    void reply.header('cache-control', 'no-store')
    return keys.create(name)
  })
  app.post(path(ROUTES.revokeKey.path), async request => keys.revoke(parse(keyIdParam, request.params, 'path').id))
}
