/**
 * The progress of a publish or an install on the terminal: one line redrawn
 * in place — the phase, a bar, bytes done of the total, the rate, an ETA and
 * (installing) the providers blocks came from. Drawn only when both stdout
 * and stderr are terminals and the output is for humans: a pipe, a log or
 * --json sees no bar and no escape codes.
 */
import type { TransferProgress } from '../packages/types.ts'
import { EtaEstimator, formatSize, renderProgress, type ProgressStream } from './progress.ts'

/** Bytes per second over the current phase, from its first observation; undefined until time passed. */
export class RateMeter {
  private start: { at: number, bytes: number } | undefined
  private readonly now: () => number

  constructor (now: () => number = Date.now) {
    this.now = now
  }

  /** Forget the start (a new phase counts its own bytes). */
  reset (): void { this.start = undefined }

  rate (bytes: number): number | undefined {
    const at = this.now()
    if (this.start === undefined || bytes < this.start.bytes) { this.start = { at, bytes }; return undefined }
    const elapsed = at - this.start.at
    return elapsed > 0 ? (bytes - this.start.bytes) * 1000 / elapsed : undefined
  }
}

const PHASE_WORDS: Record<TransferProgress['phase'], string> = {
  resolve: 'resolving',
  import: 'importing',
  fetch: 'fetching',
  write: 'writing',
  done: 'done'
}

/** "fetching [████░░░░] 12.0 MiB/64.0 MiB 18% · 40.1 MiB/s · ETA 2s · 2 providers" */
export function renderTransfer (progress: TransferProgress, rate: number | undefined, etaMs: number | undefined, opts: { unicode?: boolean } = {}): string {
  const parts = [`${PHASE_WORDS[progress.phase]} ${renderProgress({ done: progress.bytes, total: progress.totalBytes }, etaMs, { unit: formatSize, ...opts })}`]
  // the ETA, when there is one, ends renderProgress's line: the rate goes before it
  if (rate !== undefined) {
    const eta = parts[0]?.lastIndexOf(' · ETA ') ?? -1
    const text = `${formatSize(Math.round(rate))}/s`
    parts[0] = eta < 0 ? `${parts[0]} · ${text}` : `${parts[0]?.slice(0, eta)} · ${text}${parts[0]?.slice(eta)}`
  }
  if (progress.operation === 'install' && progress.phase !== 'resolve') parts.push(`${progress.providers} provider${progress.providers === 1 ? '' : 's'}`)
  return parts.join(' · ')
}

export class TransferProgressView {
  private readonly stream: ProgressStream
  private readonly now: () => number
  private eta: EtaEstimator
  private readonly meter: RateMeter
  private phase: TransferProgress['phase'] | undefined
  private drawn = false

  constructor (stream: ProgressStream, now: () => number = Date.now) {
    this.stream = stream
    this.now = now
    this.eta = new EtaEstimator(now)
    this.meter = new RateMeter(now)
  }

  update (progress: TransferProgress): void {
    if (progress.phase !== this.phase) {
      this.phase = progress.phase
      this.eta = new EtaEstimator(this.now)
      this.meter.reset()
    }
    const line = `${progress.name} ${renderTransfer(progress, this.meter.rate(progress.bytes), this.eta.estimate(progress.bytes, progress.totalBytes))}`
    const columns = this.stream.columns !== undefined && this.stream.columns > 0 ? this.stream.columns : 120
    this.stream.write('\r\x1b[2K' + line.slice(0, Math.max(20, columns - 1)))
    this.drawn = true
  }

  /** Leave the last line drawn and move below it. */
  end (): void {
    if (this.drawn) this.stream.write('\n')
    this.drawn = false
  }
}

/** Whether a bar may be drawn: both streams are terminals and the output is for humans. */
export function barAllowed (opts: { format: string, quiet: boolean }, stdout: { isTTY?: boolean | undefined } = process.stdout, stderr: { isTTY?: boolean | undefined } = process.stderr): boolean {
  return opts.format === 'table' && !opts.quiet && stdout.isTTY === true && stderr.isTTY === true
}
