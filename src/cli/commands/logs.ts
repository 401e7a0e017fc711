/**
 * `agora logs`: a node's log, the last lines, filtered by level, readable or
 * as JSON; -f keeps following it. A running node (in the foreground or
 * detached) is asked through GET /api/v1/logs, which keeps its recent lines;
 * a stopped one that was started with --detach is read from its file
 * (<data-dir>/logs/agora.log).
 */
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Option, type Command } from 'commander'
import { AgoraError } from '../../errors.ts'
import { globalOptions } from '../context.ts'
import { LOG_LEVELS } from '../../observability/log-ring.ts'
import { clientIfRunning } from '../../client/client.ts'
import type { LogsQuery } from '../../client/schemas.ts'

const NAMES = Object.fromEntries(Object.entries(LOG_LEVELS).map(([name, n]) => [n, name.toUpperCase()]))
/** Bytes read from the end of the file for -n (a long log is not read whole). */
const TAIL_BYTES = 4 * 1024 * 1024

export function registerLogsCommand (program: Command): void {
  program.command('logs')
    .description('the log of the node on this data dir: asked from the node when it runs, else read from a detached node\'s file')
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('-n, --lines <n>', 'how many of the last lines', '50')
    .addOption(new Option('--level <level>', 'only lines at this level or above').choices(Object.keys(LOG_LEVELS)))
    .action(async (flags: { follow?: boolean, lines: string, level?: string }, cmd: Command) => {
      const opts = globalOptions(cmd)
      const count = Number(flags.lines)
      if (!Number.isInteger(count) || count < 0) throw new AgoraError('E600', `-n takes a number of lines, not '${flags.lines}'`)
      const min = flags.level === undefined ? 0 : LOG_LEVELS[flags.level] ?? 0
      const show = (line: string): void => {
        const text = format(line, min, opts.format === 'json')
        if (text !== undefined) process.stdout.write(text + '\n')
      }
      const client = clientIfRunning(opts.dataDir)
      if (client !== undefined) {
        await client.logs({ lines: count, level: flags.level as LogsQuery['level'], follow: flags.follow === true }, show)
        if (flags.follow === true) process.stderr.write('the node stopped\n')
        return
      }
      const file = join(opts.dataDir, 'logs', 'agora.log')
      if (!existsSync(file)) throw new AgoraError('E601', `no log at ${file}`, { why: 'no node runs on this data dir, and none was started there with --detach', hint: 'start one (`agora start`), or pass the data dir of the node you mean (--data-dir)' })
      let offset = statSync(file).size
      for (const line of readTail(file, offset).filter(l => format(l, min, true) !== undefined).slice(-count)) show(line)
      if (flags.follow !== true) return
      let rest = ''
      for (;;) {
        await new Promise(resolve => setTimeout(resolve, 250))
        const size = statSync(file).size
        // the file was cut (rotated by hand): start over from its beginning
        if (size < offset) offset = 0
        if (size === offset) continue
        const chunk = readRange(file, offset, size)
        offset = size
        const lines = (rest + chunk).split('\n')
        rest = lines.pop() ?? ''
        for (const line of lines) show(line)
      }
    })
}

/** The line as asked (JSON as it is, or one readable line), or undefined when it is below the level or not a log line. */
function format (line: string, min: number, json: boolean): string | undefined {
  if (line.trim() === '') return undefined
  let record: { level?: number, time?: number, msg?: string, component?: string, [key: string]: unknown }
  try {
    record = JSON.parse(line) as typeof record
  } catch {
    // not JSON (the start banner, a crash's stderr): shown as it is, unless filtering by level
    return min > 0 ? undefined : line
  }
  if ((record.level ?? 0) < min) return undefined
  if (json) return line
  const { level, time, msg, component, pid: _pid, hostname: _host, node: _node, ...fields } = record
  const extra = Object.keys(fields).length === 0 ? '' : ` ${JSON.stringify(fields)}`
  return `${time === undefined ? '' : new Date(time).toISOString()} ${NAMES[level ?? 0] ?? String(level)} ${component ?? ''} ${msg ?? ''}${extra}`.replace(/ {2,}/g, ' ')
}

function readTail (file: string, size: number): string[] {
  const start = Math.max(0, size - TAIL_BYTES)
  const lines = readRange(file, start, size).split('\n')
  // a cut first line is not a line
  if (start > 0) lines.shift()
  return lines
}

function readRange (file: string, start: number, end: number): string {
  const fd = openSync(file, 'r')
  try {
    const buffer = Buffer.alloc(end - start)
    readSync(fd, buffer, 0, buffer.length, start)
    return buffer.toString('utf8')
  } finally {
    closeSync(fd)
  }
}
