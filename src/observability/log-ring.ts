/**
 * The node's recent log lines, kept in memory so that `GET /api/v1/logs`
 * (and so `agora logs`) can show a node's log wherever its lines go: a
 * foreground node writes them to its terminal, a detached one to a file.
 * Bounded by lines and by bytes; followers get each new line as it comes.
 */

/** pino's numeric levels by name. */
export const LOG_LEVELS: Readonly<Record<string, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 }

export interface LogRingLimits {
  /** Lines kept at most. */
  maxLines?: number
  /** Bytes of lines kept at most. */
  maxBytes?: number
}

export interface LogLine {
  /** The pino JSON record as written, without its newline. */
  text: string
  level: number
  /** UTF-8 bytes of the text (what the byte bound counts). */
  bytes: number
}

type Follower = (line: LogLine) => void

export class LogRing {
  private readonly lines: LogLine[] = []
  private readonly maxLines: number
  private readonly maxBytes: number
  private bytes = 0
  private readonly followers = new Set<Follower>()

  constructor (limits: LogRingLimits = {}) {
    this.maxLines = limits.maxLines ?? 2000
    this.maxBytes = limits.maxBytes ?? 2 * 1024 * 1024
  }

  /** pino's destination interface: one JSON record per call, ending in a newline. */
  write (chunk: string): void {
    const text = chunk.endsWith('\n') ? chunk.slice(0, -1) : chunk
    const bytes = Buffer.byteLength(text)
    // a record larger than the whole ring is not kept (it would push out everything else)
    if (bytes > this.maxBytes) return
    const line: LogLine = { text, level: levelOf(text), bytes }
    this.lines.push(line)
    this.bytes += bytes
    while (this.lines.length > this.maxLines || this.bytes > this.maxBytes) {
      this.bytes -= (this.lines.shift() as LogLine).bytes
    }
    for (const follower of this.followers) follower(line)
  }

  /** The last `count` lines at `minLevel` or above, oldest first. */
  tail (count: number, minLevel = 0): LogLine[] {
    const kept: LogLine[] = []
    for (let i = this.lines.length - 1; i >= 0 && kept.length < count; i--) {
      const line = this.lines[i] as LogLine
      if (line.level >= minLevel) kept.push(line)
    }
    return kept.reverse()
  }

  /** Call `follower` with every new line until the returned function is called. */
  follow (follower: Follower): () => void {
    this.followers.add(follower)
    return () => { this.followers.delete(follower) }
  }
}

/** The record's level without parsing the whole line: pino writes `{"level":30,…` first. */
function levelOf (text: string): number {
  const match = /^\{"level":(\d+)/.exec(text)
  return match === null ? 0 : Number(match[1])
}
