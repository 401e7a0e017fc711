import type { Migration } from './index.ts'

/**
 * Packages (docs/packages.md). `packages`: every manifest we know (ours and
 * gossiped), keyed by manifest CID, with the signed PACKAGE envelope kept as
 * evidence; `packages_fts`: full-text search over name, description, tags
 * and kind (FTS5, external content). `package_owners`: the keys that may
 * publish a name (first publisher, or the owners' signed list).
 * `package_providers`: peers seen holding a manifest's blocks.
 * `package_installs`: what this node installed — where, pinned or not, when
 * last used (LRU collection of the unpinned), and the state of an install
 * that may have been interrupted.
 */
export const m022Packages: Migration = {
  version: 22,
  name: 'packages: manifests, full-text index, owners, providers, installs',
  up: `
    CREATE TABLE packages (
      cid         TEXT PRIMARY KEY,
      name        TEXT NOT NULL,
      version     TEXT NOT NULL,
      kind        TEXT NOT NULL,
      description TEXT NOT NULL,
      tags        TEXT NOT NULL,
      license     TEXT NOT NULL,
      publisher   TEXT NOT NULL,
      size        INTEGER NOT NULL,
      created     INTEGER NOT NULL,
      manifest    BLOB NOT NULL,
      envelope    TEXT NOT NULL,
      received_at INTEGER NOT NULL,
      UNIQUE (name, version)
    );
    CREATE INDEX packages_name ON packages (name);
    CREATE INDEX packages_publisher ON packages (publisher);
    CREATE INDEX packages_received ON packages (received_at);
    CREATE VIRTUAL TABLE packages_fts USING fts5(
      name, description, tags, kind,
      content='packages', content_rowid='rowid', tokenize='unicode61'
    );
    CREATE TRIGGER packages_fts_insert AFTER INSERT ON packages BEGIN
      INSERT INTO packages_fts (rowid, name, description, tags, kind) VALUES (new.rowid, new.name, new.description, new.tags, new.kind);
    END;
    CREATE TRIGGER packages_fts_delete AFTER DELETE ON packages BEGIN
      INSERT INTO packages_fts (packages_fts, rowid, name, description, tags, kind) VALUES ('delete', old.rowid, old.name, old.description, old.tags, old.kind);
    END;
    CREATE TABLE package_owners (
      name       TEXT NOT NULL,
      owner      TEXT NOT NULL,
      since      INTEGER NOT NULL,
      PRIMARY KEY (name, owner)
    );
    CREATE TABLE package_providers (
      cid        TEXT NOT NULL,
      peer       TEXT NOT NULL,
      seen_at    INTEGER NOT NULL,
      PRIMARY KEY (cid, peer)
    );
    CREATE INDEX package_providers_peer ON package_providers (peer);
    CREATE TABLE package_installs (
      cid          TEXT PRIMARY KEY,
      name         TEXT NOT NULL,
      version      TEXT NOT NULL,
      dir          TEXT NOT NULL,
      size         INTEGER NOT NULL,
      pinned       INTEGER NOT NULL DEFAULT 0,
      state        TEXT NOT NULL,
      installed_at INTEGER,
      used_at      INTEGER NOT NULL
    );
    CREATE INDEX package_installs_name ON package_installs (name);
  `
}
