import type { Migration } from './index.ts'

/**
 * Amounts become integer micro-credits (docs/market.md): the jobs' spent,
 * the subtasks' price and the metered requests' price move from REAL
 * credits to INTEGER micro-credits, each row rounded to the nearest
 * micro-credit. The tables are STRICT, so each column is replaced: a new
 * INTEGER column, the values copied, the old one dropped, the new one
 * renamed (no index names these columns). A job's constraints are JSON
 * text: their amounts become six-decimal strings ("0.300000"), the form
 * the jobs store writes from now on. The signed receipts kept with the
 * subtasks are left as signed.
 */
export const m009Amounts: Migration = {
  version: 9,
  name: 'amounts: micro-credits',
  up: `
    ALTER TABLE jobs ADD COLUMN spent_micro INTEGER NOT NULL DEFAULT 0;
    UPDATE jobs SET spent_micro = CAST(round(spent * 1000000) AS INTEGER);
    ALTER TABLE jobs DROP COLUMN spent;
    ALTER TABLE jobs RENAME COLUMN spent_micro TO spent;

    UPDATE jobs SET constraints = json_set(constraints, '$.budget', printf('%.6f', json_extract(constraints, '$.budget')))
      WHERE json_type(constraints, '$.budget') IN ('integer', 'real');
    UPDATE jobs SET constraints = json_set(constraints, '$.maxPricePerSubtask', printf('%.6f', json_extract(constraints, '$.maxPricePerSubtask')))
      WHERE json_type(constraints, '$.maxPricePerSubtask') IN ('integer', 'real');

    ALTER TABLE subtasks ADD COLUMN price_micro INTEGER;
    UPDATE subtasks SET price_micro = CAST(round(price * 1000000) AS INTEGER) WHERE price IS NOT NULL;
    ALTER TABLE subtasks DROP COLUMN price;
    ALTER TABLE subtasks RENAME COLUMN price_micro TO price;

    ALTER TABLE requests ADD COLUMN price_micro INTEGER NOT NULL DEFAULT 0;
    UPDATE requests SET price_micro = CAST(round(price * 1000000) AS INTEGER);
    ALTER TABLE requests DROP COLUMN price;
    ALTER TABLE requests RENAME COLUMN price_micro TO price;
  `
}
