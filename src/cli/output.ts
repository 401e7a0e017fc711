/**
 * Rendering command results: a table on a terminal (or plain text when not a
 * TTY), or --json / --yaml / --csv for scripts. Commands hand over data; only
 * this file decides how it looks.
 */
import { createRequire } from 'node:module'
import { styleText } from 'node:util'
import type TableType from 'cli-table3'
import type * as Yaml from 'yaml'
import type { GlobalOptions } from './context.ts'

// Loaded on first use: `agora status --json` should not pay for table and YAML code.
const require = createRequire(import.meta.url)
const loadTable = (): typeof TableType => require('cli-table3') as typeof TableType

/** YAML text of a value (the yaml package, loaded on first use). */
export function toYaml (value: unknown): string {
  return (require('yaml') as typeof Yaml).stringify(value)
}

export interface Column<T> {
  header: string
  value: (row: T) => unknown
}

type Writer = (text: string) => void
const stdout: Writer = text => { process.stdout.write(text) }

/** Print a list: table columns for humans, the raw rows for --json / --yaml, chosen columns for --csv. */
export function printList<T> (rows: T[], columns: Column<T>[], opts: GlobalOptions, write: Writer = stdout): void {
  switch (opts.format) {
    case 'json': write(JSON.stringify(rows, null, 2) + '\n'); return
    case 'yaml': write(toYaml(rows)); return
    case 'csv':
      write([columns.map(c => csvCell(c.header)), ...rows.map(r => columns.map(c => csvCell(cell(c.value(r)))))].map(l => l.join(',')).join('\n') + '\n')
      return
    case 'table': {
      if (opts.quiet) return
      if (rows.length === 0) { write(dim('(none)', opts) + '\n'); return }
      const Table = loadTable()
      const table = new Table({ head: columns.map(c => bold(c.header, opts)), style: { head: [], border: [] } })
      for (const row of rows) table.push(columns.map(c => cell(c.value(row))))
      write(table.toString() + '\n')
    }
  }
}

/** Print one record: key/value lines for humans, the object for --json / --yaml / --csv. */
export function printRecord (record: object, opts: GlobalOptions, write: Writer = stdout, view?: Record<string, unknown>): void {
  switch (opts.format) {
    case 'json': write(JSON.stringify(record, null, 2) + '\n'); return
    case 'yaml': write(toYaml(record)); return
    case 'csv': {
      const entries = Object.entries(view ?? record)
      write(entries.map(([k]) => csvCell(k)).join(',') + '\n' + entries.map(([, v]) => csvCell(cell(v))).join(',') + '\n')
      return
    }
    case 'table': {
      if (opts.quiet) return
      const entries = Object.entries(view ?? record)
      const width = Math.max(...entries.map(([k]) => k.length))
      for (const [key, value] of entries) write(`${bold(key.padEnd(width), opts)}  ${cell(value).replaceAll('\n', '\n' + ' '.repeat(width + 2))}\n`)
    }
  }
}

/** A line for humans only (silenced by --quiet and by machine formats). */
export function say (text: string, opts: GlobalOptions, write: Writer = stdout): void {
  if (opts.quiet || opts.format !== 'table') return
  write(text + '\n')
}

function cell (value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (Array.isArray(value)) return value.map(v => cell(v)).join('\n')
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

function csvCell (text: string): string {
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text
}

export function bold (text: string, opts: Pick<GlobalOptions, 'color'>): string {
  return opts.color ? styleText('bold', text) : text
}

export function dim (text: string, opts: Pick<GlobalOptions, 'color'>): string {
  return opts.color ? styleText('dim', text) : text
}

export function red (text: string, opts: Pick<GlobalOptions, 'color'>): string {
  return opts.color ? styleText('red', text) : text
}

/** "3m 12s" style durations for status views. */
export function formatDuration (ms: number): string {
  const s = Math.floor(ms / 1000)
  const parts: string[] = []
  if (s >= 86400) parts.push(`${Math.floor(s / 86400)}d`)
  if (s >= 3600) parts.push(`${Math.floor(s / 3600) % 24}h`)
  if (s >= 60) parts.push(`${Math.floor(s / 60) % 60}m`)
  parts.push(`${s % 60}s`)
  return parts.join(' ')
}

/**
 * Run `work` with a spinner on stderr — only on a TTY and for table output,
 * so scripts and pipes see nothing of it.
 */
export async function withSpinner<T> (text: string, opts: GlobalOptions, work: () => Promise<T>): Promise<T> {
  if (process.stderr.isTTY !== true || opts.quiet || opts.format !== 'table') return await work()
  const { default: yoctoSpinner } = await import('yocto-spinner')
  const spinner = yoctoSpinner({ text, stream: process.stderr }).start()
  try {
    const result = await work()
    spinner.stop()
    return result
  } catch (err) {
    spinner.stop()
    throw err
  }
}
