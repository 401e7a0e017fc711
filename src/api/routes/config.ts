/** The running node's config: GET the config in force, PATCH a change (daemon/runtime-config.ts). */
import type { FastifyInstance } from 'fastify'
import { ROUTES, API_PREFIX } from '../../client/routes.ts'
import type { ConfigPatchJson, ConfigViewJson } from '../../client/config-schemas.ts'

const path = (full: string): string => full.slice(API_PREFIX.length)

export interface RuntimeConfigApi {
  view(): ConfigViewJson
  /** Validates the body itself (E1332, E300, E301 as the loader words them). */
  patch(body: unknown): Promise<ConfigPatchJson>
}

export function registerConfigRoutes (app: FastifyInstance, { runtimeConfig }: { runtimeConfig: RuntimeConfigApi }): void {
  app.get(path(ROUTES.config.path), async (): Promise<ConfigViewJson> => runtimeConfig.view())
  app.patch(path(ROUTES.patchConfig.path), async (request): Promise<ConfigPatchJson> => await runtimeConfig.patch(request.body ?? null))
}
