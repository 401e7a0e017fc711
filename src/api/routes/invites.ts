/** Invites (docs/api.md, "Invites"): the node signs a one-line invite to itself. */
import type { FastifyInstance } from 'fastify'
import { ROUTES, API_PREFIX } from '../../client/routes.ts'
import { createInviteBody, type InviteJson } from '../../client/invite-schemas.ts'
import type { MintInviteRequest, MintedInvite } from '../../invites/minter.ts'
import { parse } from './control.ts'

const path = (full: string): string => full.slice(API_PREFIX.length)

/** What the route needs of the node: the minter, which holds its key and knows its addresses. */
export interface InvitesApi {
  mint(request: MintInviteRequest): MintedInvite
}

export function registerInvitesRoutes (app: FastifyInstance, { invites }: { invites: InvitesApi }): void {
  app.post(path(ROUTES.createInvite.path), async (request): Promise<InviteJson> => invites.mint(parse(createInviteBody, request.body, 'body')))
}
