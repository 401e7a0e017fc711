/**
 * Durability at the lowest latency the disk allows: fdatasync of the
 * store's WAL. In WAL mode a committed transaction is a run of frames
 * appended to `<db>-wal`; once that file is synced the transaction survives
 * power loss — exactly what `synchronous=FULL` buys. The ledger commits with
 * the store's NORMAL and calls `sync()` before it tells anyone a posting is
 * durable. (A checkpoint may move frames into the database file meanwhile;
 * under NORMAL SQLite syncs the WAL before and the database after each
 * checkpoint, so they are on disk either way.)
 *
 * Where the sync runs is measured, not assumed. A fast disk (an SSD, a VM's
 * virtio disk: a few hundred microseconds) is synced inline, on the event
 * loop: handing the call to libuv's thread pool and back costs more than
 * the sync itself (measured here: 0.37 ms inline against 0.74 ms through the
 * pool, bench/market.bench.ts). A slow disk would stall everything else the
 * node does, so when the moving average of inline syncs (EWMA, weight
 * 0.2 for the newest: one 10 ms sync is enough, one 2.5 ms first sync is
 * not) passes INLINE_MAX_MS the syncs move off the loop (the pool) for
 * OFF_LOOP_SYNCS syncs before one is tried inline again: a slow disk stalls
 * the loop once per that many syncs.
 *
 * Syncs coalesce: callers arriving while one runs off the loop share the
 * next one, which starts when it ends (the running one may have begun
 * before their writes).
 */
import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs'
import { AgoraError, messageOf } from '../../errors.ts'

/** Inline syncs averaging more than this move off the event loop. */
export const INLINE_MAX_MS = 2
const EWMA_WEIGHT = 0.2
/** Syncs made off the loop after a slow inline one, before the next inline try. */
export const OFF_LOOP_SYNCS = 1000

export class WalSync {
  private readonly walPath: string
  private fd: number | undefined
  private running: Promise<void> | undefined
  private next: Promise<void> | undefined
  /** Syncs still to make off the loop (0: inline). */
  private offLoop = 0
  /** Moving average of inline syncs, ms. */
  private inlineMs = 0

  private readonly now: () => number

  /** `dbPath` of a file database (':memory:' has nothing to sync); `now` in ms, for timing the syncs (tests slow the disk down with it). */
  constructor (dbPath: string, init: { now?: () => number } = {}) {
    this.walPath = `${dbPath}-wal`
    this.now = init.now ?? (() => performance.now())
  }

  /** Whether the next sync runs on the event loop. */
  get inline (): boolean {
    return this.offLoop === 0 && this.running === undefined
  }

  /** Resolves once everything committed so far is on stable storage; E400 when the disk says no. */
  async sync (): Promise<void> {
    if (this.inline) {
      this.inlineOnce()
      return
    }
    if (this.running === undefined) {
      this.offLoop = Math.max(0, this.offLoop - 1)
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

  private inlineOnce (): void {
    const started = this.now()
    try {
      fdatasyncSync(this.open())
    } catch (err) {
      throw failed(err)
    }
    this.inlineMs += EWMA_WEIGHT * (this.now() - started - this.inlineMs)
    if (this.inlineMs > INLINE_MAX_MS) {
      this.offLoop = OFF_LOOP_SYNCS
      this.inlineMs = 0
    }
  }

  private async once (): Promise<void> {
    try {
      const fd = this.open()
      await new Promise<void>((resolve, reject) => { fdatasync(fd, err => { if (err === null) resolve(); else reject(err) }) })
    } catch (err) {
      throw failed(err)
    }
  }

  /** The WAL exists from the first commit on and keeps its inode while the store is open. */
  private open (): number {
    this.fd ??= openSync(this.walPath, 'r+')
    return this.fd
  }
}

function failed (err: unknown): AgoraError {
  return err instanceof AgoraError ? err : new AgoraError('E400', 'the ledger could not make its writes durable', { why: messageOf(err), cause: err })
}
