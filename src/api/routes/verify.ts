/** Verification (docs/verification.md): the quorum as this node sees it. */
import type { FastifyInstance } from 'fastify'
import { ROUTES, API_PREFIX } from '../../client/routes.ts'
import type { VerifyStatusJson } from '../../client/verify-schemas.ts'
import type { VerifyStatus } from '../../verify/index.ts'

const path = (full: string): string => full.slice(API_PREFIX.length)

export function registerVerifyRoutes (app: FastifyInstance, { verify }: { verify: { status: () => VerifyStatus } }): void {
  app.get(path(ROUTES.verifyStatus.path), async (): Promise<VerifyStatusJson> => {
    const s = verify.status()
    return { mode: s.mode, k: s.k, active: s.active, stableSince: s.stableSince === undefined ? null : new Date(s.stableSince).toISOString(), provisional: s.provisional, backend: s.backend, verifies: s.verifies, threads: s.threads }
  })
}
