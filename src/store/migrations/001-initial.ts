import type { Migration } from './index.ts'

export const m001Initial: Migration = {
  version: 1,
  name: 'initial: kv, peers, replay guard',
  up: `
    CREATE TABLE kv (
      key        TEXT PRIMARY KEY,
      value      TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE peers (
      peer_id       TEXT PRIMARY KEY,
      addresses     TEXT NOT NULL DEFAULT '[]',
      first_seen    INTEGER NOT NULL,
      last_seen     INTEGER NOT NULL,
      latency_ms    REAL,
      successes     INTEGER NOT NULL DEFAULT 0,
      failures      INTEGER NOT NULL DEFAULT 0,
      timeouts      INTEGER NOT NULL DEFAULT 0,
      trusted       INTEGER NOT NULL DEFAULT 0,
      banned_until  INTEGER,
      ban_reason    TEXT
    ) STRICT;
    CREATE INDEX peers_last_seen ON peers (last_seen DESC);

    CREATE TABLE replay_guard (
      signer     TEXT NOT NULL,
      nonce      TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      PRIMARY KEY (signer, nonce)
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX replay_guard_expires ON replay_guard (expires_at);
  `
}
