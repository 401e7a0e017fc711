import type { Migration } from './index.ts'

/**
 * The signed FINALIZE behind each final decision (src/verify/sync.ts), so a
 * node hands it on in the catch-up beside the decision's DECIDE and a peer
 * that missed the gossip learns the decision is final. `finalized_at` is
 * then the FINALIZE's place in the catch-up order, hence the index. Null
 * for decisions finalized before.
 */
export const m020FinalizeEnvelopes: Migration = {
  version: 20,
  name: 'verify: finalize envelopes',
  up: `
    ALTER TABLE verify_decisions ADD COLUMN finalize_envelope TEXT;
    CREATE INDEX verify_decisions_finalized ON verify_decisions (finalized_at) WHERE finalize_envelope IS NOT NULL;
  `
}
