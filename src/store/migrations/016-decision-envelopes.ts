import type { Migration } from './index.ts'

/**
 * The signed DECIDE behind each booked decision (src/verify/sync.ts), so a
 * node can hand the decisions it holds to a peer that missed them and the
 * peer can check each signature itself. Null for decisions booked before.
 */
export const m016DecisionEnvelopes: Migration = {
  version: 16,
  name: 'verify: decision envelopes',
  up: `
    ALTER TABLE verify_decisions ADD COLUMN envelope TEXT;
  `
}
