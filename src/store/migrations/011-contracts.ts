import type { Migration } from './index.ts'

/** Market contracts and per-peer credit limits (src/market/contracts/, docs/market.md). */
export const m011Contracts: Migration = {
  version: 11,
  name: 'market: contracts and credit limits',
  up: `
    SELECT 1;
  `
}
