/** The invites route's body and answer (docs/api.md, "Invites"). */
import { z } from 'zod'
import type { MintedInvite } from '../invites/minter.ts'

export const createInviteBody = z.object({
  /** How long the invite lasts (default 24 h; 1 minute to 30 days). */
  expiresInMs: z.number().int().optional(),
  /** Put the private network's swarm key in the invite (E1313 on a public network). */
  includePsk: z.boolean().optional()
}).strict()

export type CreateInviteBody = z.infer<typeof createInviteBody>

/** The answer of POST /api/v1/invites: the minter's result as it is. */
export type InviteJson = MintedInvite
