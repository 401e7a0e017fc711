/** The invites route's body and answer (docs/api.md, "Invites"). */
import { z } from 'zod'

export const createInviteBody = z.object({
  /** How long the invite lasts (default 24 h; 1 minute to 30 days). */
  expiresInMs: z.number().int().optional(),
  /** Put the private network's swarm key in the invite (E1313 on a public network). */
  includePsk: z.boolean().optional()
}).strict()

export type CreateInviteBody = z.infer<typeof createInviteBody>

export interface InviteJson {
  /** The one-line invite, `agora-invite:1:…`. */
  invite: string
  peerId: string
  /** The addresses it carries, each ending in /p2p/<peerId>. */
  addresses: string[]
  /** ms since the epoch. */
  expiresAt: number
  includesPsk: boolean
  /** Only loopback addresses were there: the invite works on this machine only. */
  loopbackOnly: boolean
}
