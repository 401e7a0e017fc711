/**
 * The wire messages of /agora/sync/1 (one schema each; the types derive
 * from them) and the protocol definition both sides share. Three kinds of
 * request, told apart by their fields:
 *
 *  - check `{ have: [], hash }`: is your table the same as mine? The hash
 *    is the XOR of a digest of every entry (table.ts), so equal tables
 *    answer `{ envelopes: [], same: true }` in one small round trip;
 *  - page `{ have, cursor?, limit? }`: the requester's digest — [short id,
 *    version] for every entry after `cursor`, sorted by short id (short id:
 *    64 bits of sha256 of the origin; version: 2 × Lamport, + 1 for a
 *    tombstone) — answered by one page of signed envelopes (as received,
 *    JSON text) it lacks or holds older, and the cursor of the next page
 *    (absent on the last);
 *  - nudge `{ have: [], nudge: true }`: "I just pulled news; pull from me"
 *    — the responder schedules a round with the requester, answers `{ envelopes: [] }`.
 */
import { z } from 'zod'
import { defineProtocol } from '../../protocols/index.ts'
import {
  SYNC_MAX_HAVE, SYNC_MAX_PAGE, SYNC_MAX_REQUEST_BYTES, SYNC_MAX_RESPONSE_BYTES, SYNC_PAGE_BYTES,
  SYNC_PROTOCOL_ID, SYNC_RATE_LIMIT, SYNC_TIMEOUTS
} from './constants.ts'

const shortIdSchema = z.string().regex(/^[A-Za-z0-9_-]{11}$/, 'expected an 11-character short id')

export const syncRequestSchema = z.object({
  have: z.array(z.tuple([shortIdSchema, z.number().int().nonnegative()])).max(SYNC_MAX_HAVE),
  /** Continue after this short id (from the previous page's `next`). */
  cursor: shortIdSchema.optional(),
  /** Envelopes wanted in this page at most; the responder's offers.syncPageSize caps it. */
  limit: z.number().int().min(1).max(SYNC_MAX_PAGE).optional(),
  /** A check: the requester's table hash (16 bytes, base64url). */
  hash: z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'expected 16 bytes in base64url').optional(),
  /** A nudge: the requester has news. */
  nudge: z.literal(true).optional()
}).strict()

export const syncResponseSchema = z.object({
  envelopes: z.array(z.string().min(2).max(SYNC_PAGE_BYTES)).max(SYNC_MAX_PAGE),
  next: shortIdSchema.optional(),
  /** Answer to a check. */
  same: z.boolean().optional()
}).strict()

export type SyncRequest = z.infer<typeof syncRequestSchema>
export type SyncResponse = z.infer<typeof syncResponseSchema>

export const syncProtocol = defineProtocol({
  id: SYNC_PROTOCOL_ID,
  request: syncRequestSchema,
  response: syncResponseSchema,
  maxRequestBytes: SYNC_MAX_REQUEST_BYTES,
  maxResponseBytes: SYNC_MAX_RESPONSE_BYTES,
  timeouts: SYNC_TIMEOUTS,
  rateLimit: SYNC_RATE_LIMIT
})
