import type { Migration } from './index.ts'

/**
 * Reputation state of the peer book (src/peers/): the decayed Beta
 * posterior (alpha, beta and when they were last decayed), a counter of
 * invalid messages, and the decayed ping uptime (successful and all pings,
 * and when they were last decayed). A NULL state is a stranger: the prior.
 */
export const m002Reputation: Migration = {
  version: 2,
  name: 'reputation: decayed Beta posterior, invalid messages, ping uptime',
  up: `
    ALTER TABLE peers ADD COLUMN invalids INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE peers ADD COLUMN rep_alpha REAL;
    ALTER TABLE peers ADD COLUMN rep_beta REAL;
    ALTER TABLE peers ADD COLUMN rep_updated_at INTEGER;
    ALTER TABLE peers ADD COLUMN uptime_ok REAL NOT NULL DEFAULT 0;
    ALTER TABLE peers ADD COLUMN uptime_total REAL NOT NULL DEFAULT 0;
    ALTER TABLE peers ADD COLUMN uptime_updated_at INTEGER;
    CREATE INDEX peers_trusted ON peers (trusted) WHERE trusted = 1;
  `
}
