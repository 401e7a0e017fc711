/**
 * The wire messages of /agora/packages/sync/1 (one schema each; the types
 * derive from them). The catalogue only grows (a manifest is immutable), so
 * a round only has to find the CIDs one side lacks:
 *
 *  - summary `{ op: 'summary', count, hash }`: is your catalogue the same
 *    as mine? Answered `{ same: true }`, or `{ same: false, buckets }` with
 *    the [count, hash] of each of the 256 buckets (≈ 8 KB);
 *  - list `{ op: 'list', buckets, after?, limit }`: the responder's CIDs in
 *    those buckets (the ones whose summary differs), in string order after
 *    `after`, answered `{ cids, next? }`;
 *  - get `{ op: 'get', cids }`: the signed PACKAGE envelopes of those CIDs
 *    (JSON text, as received), answered `{ envelopes }`, in the order asked,
 *    leaving out any the responder does not hold.
 *
 * A steady-state round is one summary; a catalogue differing by one package
 * costs a summary, one list of ~1/256 of the CIDs, and one get.
 */
import { z } from 'zod'
import { defineProtocol } from '../../protocols/index.ts'
import {
  PACKAGE_SYNC_PROTOCOL_ID, SYNC_BUCKETS, SYNC_GET_BATCH, SYNC_LIST_PAGE, SYNC_MAX_REQUEST_BYTES,
  SYNC_MAX_RESPONSE_BYTES, SYNC_RATE_LIMIT, SYNC_TIMEOUTS
} from './constants.ts'

const cidField = z.string().min(8).max(128)
/** 16 bytes, base64url without padding. */
const hashField = z.string().regex(/^[A-Za-z0-9_-]{22}$/, 'expected 16 bytes in base64url')

export const packageSyncRequestSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('summary'), count: z.number().int().nonnegative(), hash: hashField }).strict(),
  z.object({
    op: z.literal('list'),
    buckets: z.array(z.number().int().min(0).max(SYNC_BUCKETS - 1)).min(1).max(SYNC_BUCKETS),
    after: cidField.optional(),
    limit: z.number().int().min(1).max(SYNC_LIST_PAGE)
  }).strict(),
  z.object({ op: z.literal('get'), cids: z.array(cidField).min(1).max(SYNC_GET_BATCH) }).strict()
])

export const packageSyncResponseSchema = z.object({
  /** summary */
  same: z.boolean().optional(),
  buckets: z.array(z.tuple([z.number().int().nonnegative(), hashField])).length(SYNC_BUCKETS).optional(),
  /** list */
  cids: z.array(cidField).max(SYNC_LIST_PAGE).optional(),
  next: cidField.optional(),
  /** get */
  envelopes: z.array(z.string().min(2)).max(SYNC_GET_BATCH).optional()
}).strict()

export type PackageSyncRequest = z.infer<typeof packageSyncRequestSchema>
export type PackageSyncResponse = z.infer<typeof packageSyncResponseSchema>

export const packageSyncProtocol = defineProtocol({
  id: PACKAGE_SYNC_PROTOCOL_ID,
  request: packageSyncRequestSchema,
  response: packageSyncResponseSchema,
  maxRequestBytes: SYNC_MAX_REQUEST_BYTES,
  maxResponseBytes: SYNC_MAX_RESPONSE_BYTES,
  timeouts: SYNC_TIMEOUTS,
  rateLimit: SYNC_RATE_LIMIT,
  reuseStreams: true
})
