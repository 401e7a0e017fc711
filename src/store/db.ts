/**
 * The embedded store: one SQLite file per node (`<data-dir>/agora.db`) in WAL
 * mode, opened with `node:sqlite`. Migrations run at open; each repository
 * module owns one table. WAL with `synchronous=NORMAL`: a transaction that
 * returned is in the WAL, so a crash or SIGKILL of the process loses nothing
 * acknowledged (test/integration/store-crash.test.ts); only an OS crash or
 * power loss can roll back the last commits. FULL would fsync every commit
 * and cut the replay guard from ~39k to ~6k inserts/s here (far less on
 * real disks), on the path of every received envelope.
 */
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { AgoraError, messageOf } from '../errors.ts'
import { MIGRATIONS, type Migration } from './migrations/index.ts'

export type { StatementSync }

export interface StoreInit {
  /** File path, or ':memory:' for tests. */
  path: string
  migrations?: readonly Migration[]
}

export class Database {
  readonly sqlite: DatabaseSync
  readonly path: string
  private readonly statements = new Map<string, StatementSync>()

  constructor (init: StoreInit) {
    this.path = init.path
    try {
      this.sqlite = new DatabaseSync(init.path)
      this.sqlite.exec('PRAGMA journal_mode = WAL')
      this.sqlite.exec('PRAGMA synchronous = NORMAL')
      this.sqlite.exec('PRAGMA foreign_keys = ON')
      this.sqlite.exec('PRAGMA busy_timeout = 5000')
    } catch (err) {
      throw new AgoraError('E400', `cannot open the store at ${init.path}`, { why: messageOf(err), cause: err })
    }
    migrate(this.sqlite, init.migrations ?? MIGRATIONS)
  }

  /** A cached prepared statement (preparing is the expensive part). */
  prepare (sql: string): StatementSync {
    let statement = this.statements.get(sql)
    if (statement === undefined) {
      statement = this.sqlite.prepare(sql)
      this.statements.set(sql, statement)
    }
    return statement
  }

  /** Run `fn` in one transaction: all of it is stored, or none. */
  transaction<T> (fn: () => T): T {
    this.sqlite.exec('BEGIN IMMEDIATE')
    try {
      const result = fn()
      this.sqlite.exec('COMMIT')
      return result
    } catch (err) {
      this.sqlite.exec('ROLLBACK')
      throw err
    }
  }

  get schemaVersion (): number {
    const row = this.sqlite.prepare('PRAGMA user_version').get() as { user_version: number }
    return row.user_version
  }

  close (): void {
    this.statements.clear()
    if (this.sqlite.isOpen) this.sqlite.close()
  }
}

/** Apply every migration newer than the file's `user_version`, each in its own transaction. */
function migrate (db: DatabaseSync, migrations: readonly Migration[]): void {
  const current = (db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version
  const latest = migrations.at(-1)?.version ?? 0
  if (current > latest) {
    throw new AgoraError('E401', `the store is at schema version ${current}, this agora knows up to ${latest}`)
  }
  for (const migration of migrations) {
    if (migration.version <= current) continue
    db.exec('BEGIN IMMEDIATE')
    try {
      db.exec(migration.up)
      db.exec(`PRAGMA user_version = ${migration.version}`)
      db.exec('COMMIT')
    } catch (err) {
      db.exec('ROLLBACK')
      throw new AgoraError('E400', `store migration ${migration.version} (${migration.name}) failed`, { why: messageOf(err), cause: err })
    }
  }
}
