/**
 * The `package_installs` table: what this node installed, where, pinned or
 * not, when last used (LRU collection) and whether an install is still
 * `fetching` (interrupted: the next install of it resumes).
 */
import type { DatabaseSync } from 'node:sqlite'
import type { InstalledPackage, InstallState } from '../types.ts'

interface Row {
  cid: string
  name: string
  version: string
  dir: string
  size: number
  pinned: number
  state: string
  installed_at: number | null
  used_at: number
}

function toInstalled (row: Row): InstalledPackage {
  return {
    cid: row.cid,
    name: row.name,
    version: row.version,
    dir: row.dir,
    size: row.size,
    pinned: row.pinned === 1,
    state: row.state as InstallState,
    installedAt: row.installed_at,
    usedAt: row.used_at
  }
}

export class InstallsRepository {
  private readonly db: DatabaseSync

  constructor (db: DatabaseSync) {
    this.db = db
  }

  get (cid: string): InstalledPackage | undefined {
    const row = this.db.prepare('SELECT * FROM package_installs WHERE cid = ?').get(cid) as Row | undefined
    return row === undefined ? undefined : toInstalled(row)
  }

  /** Installed versions of a name, newest install first. */
  byName (name: string): InstalledPackage[] {
    return (this.db.prepare('SELECT * FROM package_installs WHERE name = ? ORDER BY used_at DESC').all(name) as unknown as Row[]).map(toInstalled)
  }

  list (): InstalledPackage[] {
    return (this.db.prepare('SELECT * FROM package_installs ORDER BY name, version').all() as unknown as Row[]).map(toInstalled)
  }

  /** A fetch begins (or resumes): the row exists with state 'fetching' unless it is installed already. */
  begin (entry: { cid: string, name: string, version: string, dir: string, size: number, pinned: boolean }, now: number): void {
    this.db.prepare(`INSERT INTO package_installs (cid, name, version, dir, size, pinned, state, installed_at, used_at)
      VALUES (?, ?, ?, ?, ?, ?, 'fetching', NULL, ?)
      ON CONFLICT (cid) DO UPDATE SET used_at = excluded.used_at, pinned = MAX(pinned, excluded.pinned)`)
      .run(entry.cid, entry.name, entry.version, entry.dir, entry.size, entry.pinned ? 1 : 0, now)
  }

  finish (cid: string, now: number): void {
    this.db.prepare("UPDATE package_installs SET state = 'installed', installed_at = ?, used_at = ? WHERE cid = ?").run(now, now, cid)
  }

  touch (cid: string, now: number): void {
    this.db.prepare('UPDATE package_installs SET used_at = ? WHERE cid = ?').run(now, cid)
  }

  setPinned (cid: string, pinned: boolean): void {
    this.db.prepare('UPDATE package_installs SET pinned = ? WHERE cid = ?').run(pinned ? 1 : 0, cid)
  }

  delete (cid: string): void {
    this.db.prepare('DELETE FROM package_installs WHERE cid = ?').run(cid)
  }

  /** Unpinned installed packages, least recently used first (what gc may collect). */
  collectable (): InstalledPackage[] {
    return (this.db.prepare("SELECT * FROM package_installs WHERE pinned = 0 AND state = 'installed' ORDER BY used_at ASC, cid").all() as unknown as Row[]).map(toInstalled)
  }

  /** Installs still 'fetching' whose last attempt began before `before` (failed or cancelled: nothing resumes them by itself). */
  interrupted (before: number): InstalledPackage[] {
    return (this.db.prepare("SELECT * FROM package_installs WHERE state = 'fetching' AND used_at < ? ORDER BY used_at ASC, cid").all(before) as unknown as Row[]).map(toInstalled)
  }

  /** Bytes of unpinned installed packages (what counts against packages.cacheBytes). */
  unpinnedBytes (): number {
    const row = this.db.prepare("SELECT COALESCE(SUM(size), 0) AS total FROM package_installs WHERE pinned = 0 AND state = 'installed'").get() as { total: number }
    return row.total
  }
}
