/**
 * Durability without blocking the node: fdatasync of the store's WAL file,
 * off the event loop (libuv's thread pool). In WAL mode a committed
 * transaction is a run of frames appended to `<db>-wal`; once that file is
 * synced the transaction survives power loss — exactly what
 * `synchronous=FULL` buys, except that SQLite (synchronous in node:sqlite)
 * would fsync on the event loop at every COMMIT, stalling everything else
 * the node does for the length of a disk flush. The ledger commits with the
 * store's NORMAL and calls `sync()` before it tells anyone a posting is
 * durable. (A checkpoint may move frames into the database file meanwhile;
 * under NORMAL SQLite syncs the WAL before and the database after each
 * checkpoint, so they are on disk either way.)
 *
 * Syncs coalesce: callers arriving while one runs share the next one, which
 * starts when it ends (the running one may have begun before their writes).
 */
import { closeSync, fdatasync, openSync } from 'node:fs'
import { AgoraError, messageOf } from '../../errors.ts'

export class WalSync {
  private readonly walPath: string
  private fd: number | undefined
  private running: Promise<void> | undefined
  private next: Promise<void> | undefined

  /** `dbPath` of a file database (':memory:' has nothing to sync). */
  constructor (dbPath: string) {
    this.walPath = `${dbPath}-wal`
  }

  /** Resolves once everything committed so far is on stable storage; E400 when the disk says no. */
  async sync (): Promise<void> {
    if (this.running === undefined) {
      this.running = this.once().finally(() => { this.running = undefined })
      return await this.running
    }
    this.next ??= this.running.then(() => undefined, () => undefined).then(async () => {
      this.next = undefined
      await this.sync()
    })
    return await this.next
  }

  close (): void {
    if (this.fd !== undefined) closeSync(this.fd)
    this.fd = undefined
  }

  private async once (): Promise<void> {
    try {
      // the WAL exists from the first commit on and keeps its inode while the store is open
      this.fd ??= openSync(this.walPath, 'r+')
      const fd = this.fd
      await new Promise<void>((resolve, reject) => { fdatasync(fd, err => { if (err === null) resolve(); else reject(err) }) })
    } catch (err) {
      throw new AgoraError('E400', 'the ledger could not make its writes durable', { why: messageOf(err), cause: err })
    }
  }
}
