/**
 * Structured JSON logs (pino). One root logger per node, carrying the node's
 * short prefix so that a multi-node test log reads clearly; every room asks
 * for its own child with `forComponent('agora:<room>')`. No module-level loggers.
 */
import { pino, type Logger, type DestinationStream } from 'pino'
import pretty from 'pino-pretty'
import { LogRing } from './log-ring.ts'
import type { Redactor } from './redact.ts'

export type { Logger }

export interface AgoraLogger {
  /** The root pino logger (for components that take a pino instance). */
  readonly root: Logger
  forComponent (name: string): Logger
  /** The recent lines, for GET /api/v1/logs. */
  readonly recent: LogRing
}

export interface LoggerInit {
  /** pino level: trace, debug, info, warn, error, fatal, silent. */
  level?: string
  /** Short per-node prefix, e.g. the last 6 characters of the peer id. */
  node?: string
  /** Where to write; stderr when omitted. */
  destination?: DestinationStream | NodeJS.WritableStream
  /** JSON lines, or readable ones for a person (pino-pretty); auto: pretty when stderr is a terminal. Ignored with a destination. */
  format?: 'auto' | 'json' | 'pretty'
  /** Colours in pretty lines (NO_COLOR in the environment turns them off too). */
  color?: boolean
  /** Applied to every line before it is written or kept (log.safe: secrets out). */
  redact?: Redactor
}

/** Lines waiting to be written at most (beyond, new lines are dropped). */
const MAX_PENDING_LOG_BYTES = 16 * 1024 * 1024

/**
 * An asynchronous log destination on `fd` that never takes the node down:
 * a write that fails (a detached node's log file on a full disk: ENOSPC) is
 * not an unhandled 'error' event — which killed the node and then left it
 * hanging in pino's exit flush — and lines waiting for the disk are bounded.
 * Writing resumes with the next line once the disk has room again.
 */
export function logDestination (fd: number): DestinationStream {
  const stream = pino.destination({ fd, sync: false, maxLength: MAX_PENDING_LOG_BYTES })
  // nowhere left to report it: the node goes on, and its logs come back with the disk's room
  stream.on('error', () => {})
  return stream
}

/** Readable lines on stderr: time, level, component and message, then the fields. */
function prettyDestination (color: boolean): DestinationStream {
  return pretty({
    destination: 2,
    colorize: color,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,component,node',
    messageFormat: '{if component}{component} {end}{msg}',
    singleLine: true
  })
}

function wantsPretty (init: LoggerInit): boolean {
  if (init.destination !== undefined) return false
  return init.format === 'pretty' || (init.format === 'auto' && process.stderr.isTTY === true)
}

export function createLogger (init: LoggerInit = {}): AgoraLogger {
  const color = init.color !== false && process.env.NO_COLOR === undefined
  const destination = init.destination ?? (wantsPretty(init) ? prettyDestination(color) : logDestination(2))
  const recent = new LogRing()
  const redact = init.redact
  const out = (stream: { write: (line: string) => unknown, flushSync?: () => void }): DestinationStream => redact === undefined
    ? stream as DestinationStream
    : Object.assign({ write: (line: string) => stream.write(redact(line)) }, stream.flushSync === undefined ? {} : { flushSync: () => { stream.flushSync?.() } })
  // both streams take every level: the logger's own level (changeable at run time) is the one filter
  const streams = pino.multistream([{ level: 'trace', stream: out(destination as DestinationStream) }, { level: 'trace', stream: out(recent) }])
  const root = pino({
    level: init.level ?? 'info',
    base: init.node === undefined ? { pid: process.pid } : { pid: process.pid, node: init.node },
    // never log secrets: tokens and keys are redacted wherever they appear
    redact: { paths: ['token', '*.token', 'authorization', '*.authorization', 'privateKey', '*.privateKey', 'psk', '*.psk'], censor: '[redacted]' }
  }, streams)
  return {
    root,
    recent,
    forComponent: (name: string) => root.child({ component: name })
  }
}

/** A logger that writes nothing, for unit tests. */
export function silentLogger (): AgoraLogger {
  return createLogger({ level: 'silent' })
}
