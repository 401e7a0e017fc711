/**
 * Progress of a job (or an upload) on the terminal: on a TTY one line
 * redrawn in place — a bar, done/total, percent, running and failed counts
 * and an ETA from the rate seen so far; elsewhere plain lines, one each time
 * something changes, so logs and pipes stay readable.
 */
import type { JobJson } from '../client/schemas.ts'
import { formatDuration } from './output.ts'

export interface ProgressStream {
  write(text: string): unknown
  isTTY?: boolean | undefined
  columns?: number | undefined
}

export interface ProgressCounts {
  done: number
  total: number
  running?: number
  failed?: number
}

const BAR_WIDTH = 24

/** "[██████░░░░] 45/100 45% · 4 running · 1 failed · ETA 12s" */
export function renderProgress (counts: ProgressCounts, etaMs: number | undefined, opts: { unicode?: boolean, unit?: (n: number) => string } = {}): string {
  const { done, total } = counts
  const fraction = total > 0 ? Math.min(1, done / total) : 0
  const filled = Math.round(fraction * BAR_WIDTH)
  const [full, empty] = opts.unicode === false ? ['#', '-'] : ['█', '░']
  const unit = opts.unit ?? String
  const parts = [`[${full.repeat(filled)}${empty.repeat(BAR_WIDTH - filled)}] ${unit(done)}/${unit(total)} ${Math.floor(fraction * 100)}%`]
  if ((counts.running ?? 0) > 0) parts.push(`${counts.running} running`)
  if ((counts.failed ?? 0) > 0) parts.push(`${counts.failed} failed`)
  // whole seconds, rounded up: "ETA 0s" would read as done
  if (done < total) parts.push(`ETA ${etaMs === undefined ? '--' : formatDuration(Math.ceil(etaMs / 1000) * 1000)}`)
  return parts.join(' · ')
}

/** "512 B", "3.4 KiB", "12.0 MiB" for upload progress. */
export function formatSize (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1048576).toFixed(1)} MiB`
}

/** Remaining time from the rate of progress since the first observation; undefined until something moved. */
export class EtaEstimator {
  private start: { at: number, done: number } | undefined
  private readonly now: () => number

  constructor (now: () => number = Date.now) {
    this.now = now
  }

  estimate (done: number, total: number): number | undefined {
    const at = this.now()
    if (this.start === undefined || done < this.start.done) { this.start = { at, done }; return undefined }
    const progressed = done - this.start.done
    const elapsed = at - this.start.at
    if (progressed <= 0 || elapsed <= 0) return undefined
    return Math.max(0, Math.round((total - done) * elapsed / progressed))
  }
}

/** Draws a job's progress on a stream (stderr): a live line on a TTY, plain lines otherwise. */
export class JobProgressView {
  private readonly stream: ProgressStream
  private readonly eta: EtaEstimator
  private last = ''
  private drawn = false

  constructor (stream: ProgressStream, now: () => number = Date.now) {
    this.stream = stream
    this.eta = new EtaEstimator(now)
  }

  update (job: JobJson): void {
    const { committed, total, running, failed } = job.progress
    const eta = this.eta.estimate(committed, total)
    if (this.stream.isTTY === true) {
      const line = `${job.id} ${job.state} ${renderProgress({ done: committed, total, running, failed }, eta)}` + (job.waiting === undefined ? '' : ` — ${job.waiting}`)
      const columns = this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : 120
      this.stream.write('\r\x1b[2K' + line.slice(0, Math.max(20, columns - 1)))
      this.drawn = true
      return
    }
    const line = `${job.id}: ${job.state}, ${committed}/${total} subtasks done` + (failed > 0 ? `, ${failed} failed` : '') + (running > 0 ? `, ${running} running` : '') +
      (job.waiting === undefined ? '' : ` — waiting: ${job.waiting}`)
    if (line === this.last) return
    this.last = line
    this.stream.write(line + '\n')
  }

  /** Leave the line drawn and move below it. */
  end (): void {
    if (this.drawn) this.stream.write('\n')
    this.drawn = false
  }
}
