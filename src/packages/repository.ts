/**
 * The catalogue on disk (migration 022): every manifest this node knows,
 * with the signed PACKAGE envelope kept as evidence (`packages`, whose FTS5
 * index triggers keep in step), the keys that may publish each name
 * (`package_owners`) and the peers seen holding a package (`package_providers`).
 * Rows come only from checked envelopes (catalog.ts), so reading one back
 * trusts it: the manifest is decoded again, not re-verified.
 */
import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { CID } from 'multiformats/cid'
import semver from 'semver'
import { parseEnvelope, type Envelope } from '../identity/index.ts'
import { decodeManifestBytes, packageSize, type Manifest } from './manifest.ts'

/** One package version the catalogue holds. */
export interface StoredPackage {
  /** Manifest CID. */
  cid: string
  manifest: Manifest
  envelope: Envelope
  /** The manifest's DAG-CBOR bytes. */
  bytes: Uint8Array
  receivedAt: number
}

interface PackageRow {
  cid: string
  manifest: Uint8Array
  envelope: string
  received_at: number
}

const COLUMNS = 'cid, manifest, envelope, received_at'

export class PackageRepository {
  private readonly db: DatabaseSync
  private readonly s: Record<
  'get' | 'byVersion' | 'versions' | 'versionCids' | 'insert' | 'owners' | 'clearOwners' | 'addOwner' | 'addProvider' | 'providers' |
  'providerCount' | 'forgetPeer' | 'count' | 'cidsAfter' | 'allCids' | 'envelope' | 'manifestBytes',
  StatementSync>

  constructor (db: DatabaseSync) {
    this.db = db
    this.s = {
      get: db.prepare(`SELECT ${COLUMNS} FROM packages WHERE cid = ?`),
      byVersion: db.prepare(`SELECT ${COLUMNS} FROM packages WHERE name = ? AND version = ?`),
      versions: db.prepare(`SELECT ${COLUMNS} FROM packages WHERE name = ?`),
      versionCids: db.prepare('SELECT cid, version FROM packages WHERE name = ?'),
      insert: db.prepare(`INSERT INTO packages (cid, name, version, kind, description, tags, license, publisher, size, created, manifest, envelope, received_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
      owners: db.prepare('SELECT owner FROM package_owners WHERE name = ? ORDER BY owner'),
      clearOwners: db.prepare('DELETE FROM package_owners WHERE name = ?'),
      addOwner: db.prepare('INSERT OR IGNORE INTO package_owners (name, owner, since) VALUES (?, ?, ?)'),
      addProvider: db.prepare(`INSERT INTO package_providers (cid, peer, seen_at) VALUES (?, ?, ?)
        ON CONFLICT (cid, peer) DO UPDATE SET seen_at = MAX(seen_at, excluded.seen_at)`),
      providers: db.prepare('SELECT peer FROM package_providers WHERE cid = ? ORDER BY seen_at DESC, peer'),
      providerCount: db.prepare('SELECT COUNT(*) AS n FROM package_providers WHERE cid = ?'),
      forgetPeer: db.prepare('DELETE FROM package_providers WHERE peer = ?'),
      count: db.prepare('SELECT COUNT(*) AS n FROM packages'),
      manifestBytes: db.prepare('SELECT COALESCE(SUM(length(manifest)), 0) AS n FROM packages'),
      cidsAfter: db.prepare('SELECT cid FROM packages WHERE cid > ? ORDER BY cid LIMIT ?'),
      allCids: db.prepare('SELECT cid FROM packages'),
      envelope: db.prepare('SELECT envelope FROM packages WHERE cid = ?')
    }
  }

  get (cid: string): StoredPackage | undefined {
    return this.toStored(this.s.get.get(cid) as PackageRow | undefined)
  }

  has (cid: string): boolean {
    return this.s.envelope.get(cid) !== undefined
  }

  /** The manifest CID held for name@version. */
  cidOf (name: string, version: string): string | undefined {
    return (this.s.byVersion.get(name, version) as PackageRow | undefined)?.cid
  }

  /** Every version of `name`, newest semver first. */
  versions (name: string): StoredPackage[] {
    const rows = (this.s.versions.all(name) as unknown as PackageRow[]).map(row => this.toStored(row) as StoredPackage)
    return rows.sort((a, b) => semver.rcompare(a.manifest.version, b.manifest.version))
  }

  /**
   * Every version of `name` as CID and version only, newest semver first:
   * a name may have thousands of versions, each manifest up to
   * packages.maxManifestBytes, so choosing one must not decode them all.
   */
  versionCids (name: string): Array<{ cid: string, version: string }> {
    const rows = this.s.versionCids.all(name) as Array<{ cid: string, version: string }>
    return rows.map(row => ({ cid: row.cid, version: row.version })).sort((a, b) => semver.rcompare(a.version, b.version))
  }

  /**
   * A spec to a package: a manifest CID; `name` (the highest release, or the
   * highest pre-release when there is no release); `name@1.2.0`; or
   * `name@<range>` (the highest version satisfying it).
   */
  resolve (spec: string): StoredPackage | undefined {
    const at = spec.indexOf('@')
    if (at === -1 && !spec.includes('/')) return isCid(spec) ? this.get(CID.parse(spec).toString()) : undefined
    const name = at === -1 ? spec : spec.slice(0, at)
    const wanted = at === -1 ? '' : spec.slice(at + 1).trim()
    const versions = this.versionCids(name)
    let chosen: { cid: string } | undefined
    if (wanted === '') chosen = versions.find(p => semver.prerelease(p.version) === null) ?? versions[0]
    else if (semver.valid(wanted) !== null) chosen = versions.find(p => semver.eq(p.version, wanted))
    else if (semver.validRange(wanted) !== null) chosen = versions.find(p => semver.satisfies(p.version, wanted))
    return chosen === undefined ? undefined : this.get(chosen.cid)
  }

  /**
   * Store a checked package, and the name's owner set when it changed (one
   * transaction). False when the CID or its name@version was held already.
   */
  put (pkg: Omit<StoredPackage, 'receivedAt'>, receivedAt: number, owners?: readonly string[]): boolean {
    const m = pkg.manifest
    return this.transaction(() => {
      const result = this.s.insert.run(
        pkg.cid, m.name, m.version, m.kind, m.description, m.tags.join(' '), m.license, m.publisher, packageSize(m), m.created,
        pkg.bytes, JSON.stringify(pkg.envelope), receivedAt
      )
      if (result.changes === 0) return false
      if (owners !== undefined) this.writeOwners(m.name, owners, receivedAt)
      return true
    })
  }

  /** The keys that may publish `name` (empty: nobody holds it). */
  owners (name: string): string[] {
    return (this.s.owners.all(name) as Array<{ owner: string }>).map(row => row.owner)
  }

  setOwners (name: string, owners: readonly string[], now: number): void {
    this.transaction(() => { this.writeOwners(name, owners, now) })
  }

  /** Record that `peer` holds the blocks of `cid` (seen now). */
  addProvider (cid: string, peer: string, now: number): void {
    this.s.addProvider.run(cid, peer, now)
  }

  /** Peers known to hold `cid`, most recently seen first. */
  providers (cid: string): string[] {
    return (this.s.providers.all(cid) as Array<{ peer: string }>).map(row => row.peer)
  }

  providerCount (cid: string): number {
    return (this.s.providerCount.get(cid) as { n: number }).n
  }

  /** Forget every package a peer was said to hold (it went away, or was banned). */
  forgetPeer (peer: string): number {
    return Number(this.s.forgetPeer.run(peer).changes)
  }

  count (): number {
    return (this.s.count.get() as { n: number }).n
  }

  /** Manifest CIDs in string order after `after`, at most `limit` (pages for anti-entropy and listings). */
  cidsAfter (after: string, limit: number): string[] {
    return (this.s.cidsAfter.all(after, limit) as Array<{ cid: string }>).map(row => row.cid)
  }

  /** Every manifest CID, in no order (to build the sync digest at start). */
  /** Bytes of every manifest held (the catalogue's size against packages.catalogMaxBytes). */
  manifestBytes (): number {
    return (this.s.manifestBytes.get() as { n: number }).n
  }

  allCids (): string[] {
    return (this.s.allCids.all() as Array<{ cid: string }>).map(row => row.cid)
  }

  /** The stored PACKAGE envelope as JSON text, as a sync page serves it. */
  envelopeText (cid: string): string | undefined {
    return (this.s.envelope.get(cid) as { envelope: string } | undefined)?.envelope
  }

  private writeOwners (name: string, owners: readonly string[], now: number): void {
    this.s.clearOwners.run(name)
    for (const owner of owners) this.s.addOwner.run(name, owner, now)
  }

  private transaction<T> (fn: () => T): T {
    if (this.db.isTransaction) return fn()
    this.db.exec('BEGIN IMMEDIATE')
    try {
      const result = fn()
      this.db.exec('COMMIT')
      return result
    } catch (err) {
      this.db.exec('ROLLBACK')
      throw err
    }
  }

  private toStored (row: PackageRow | undefined): StoredPackage | undefined {
    if (row === undefined) return undefined
    const bytes = new Uint8Array(row.manifest)
    return { cid: row.cid, manifest: decodeManifestBytes(bytes), envelope: parseEnvelope(JSON.parse(row.envelope)), bytes, receivedAt: row.received_at }
  }
}

function isCid (value: string): boolean {
  try { CID.parse(value); return true } catch { return false }
}
