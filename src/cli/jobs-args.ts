/**
 * Turning `agora jobs submit` flags into a job spec: `--param k=v` values
 * (JSON when they parse — numbers, booleans, arrays, objects — else strings),
 * deadlines as a duration or an ISO time, items from a JSON Lines file,
 * credits sent as six-decimal strings. Mistakes are usage errors (E600,
 * exit 2) that name the flag; a bad amount is E1100 naming the flag.
 */
import { readFileSync } from 'node:fs'
import { AgoraError, isAgoraError, messageOf } from '../errors.ts'
import type { JobSpecInput } from '../jobs/types.ts'

export interface SubmitFlags {
  type: string
  file?: string
  text?: string
  itemsFile?: string
  param: string[]
  maxPrice?: string
  budget?: string
  deadline?: string
  zone?: string
  auction?: boolean
  model: string[]
  tag: string[]
}

/** Where the input comes from; a file is uploaded first, then named by hash. */
export type InputSource = { kind: 'file', path: string } | { kind: 'text', text: string } | { kind: 'items', items: unknown[] }

const PARAM_KEY_RE = /^[A-Za-z_][\w.-]*$/
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** A `--param` value: JSON if it parses to something finite, else the text itself. */
export function parseParamValue (raw: string): unknown {
  try {
    const value: unknown = JSON.parse(raw)
    return typeof value === 'number' && !Number.isFinite(value) ? raw : value
  } catch {
    return raw
  }
}

/** `--param k=v …` → params; E600 on a missing `=`, a bad key or a key given twice. */
export function parseParams (pairs: string[]): Record<string, unknown> {
  const params: Record<string, unknown> = {}
  for (const pair of pairs) {
    const eq = pair.indexOf('=')
    if (eq < 0) throw new AgoraError('E600', `--param takes key=value, not '${pair}'`, { hint: 'e.g. --param model=llama3.2:3b --param chunkTokens=400' })
    const key = pair.slice(0, eq)
    if (!PARAM_KEY_RE.test(key)) throw new AgoraError('E600', `'${key}' is not a parameter name`, { hint: 'names start with a letter or _, then letters, digits, _, . or -' })
    if (Object.hasOwn(params, key)) throw new AgoraError('E600', `--param ${key} is given twice`)
    params[key] = parseParamValue(pair.slice(eq + 1))
  }
  return params
}

/** "30s", "10m", "2h", "1h30m", "500ms", "1.5d" → milliseconds; undefined when it is not a duration. */
export function parseDuration (text: string): number | undefined {
  const parts = [...text.matchAll(DURATION_PART_RE)]
  if (parts.length === 0 || parts.map(p => p[0]).join('') !== text) return undefined
  return parts.reduce((ms, p) => ms + Number(p[1]) * (UNIT_MS[p[2] as string] as number), 0)
}

/** `--deadline`: a duration from now or an ISO time, as epoch ms; E600 when malformed or not in the future. */
export function parseDeadline (text: string, now = Date.now()): number {
  const duration = parseDuration(text.trim())
  if (duration !== undefined) {
    if (duration < 1000) throw new AgoraError('E600', `--deadline ${text} is too short`, { hint: 'give the job at least a second, e.g. --deadline 30s' })
    return Math.round(now + duration)
  }
  const at = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN
  if (Number.isNaN(at)) {
    throw new AgoraError('E600', `--deadline takes a duration or an ISO time, not '${text}'`, { hint: 'e.g. --deadline 30s, 10m, 2h, 1h30m, or 2026-11-20T18:00:00Z' })
  }
  if (at <= now) throw new AgoraError('E600', `--deadline ${text} is in the past`, { hint: 'give a time in the future, or a duration such as 10m' })
  return at
}

/**
 * Credits for `flag` ("0.5", at most six decimals) as the six-decimal string
 * the node is sent; E1100 naming the flag. The amounts module (it loads zod)
 * is imported only when a command has an amount to read.
 */
export async function creditsFlag (flag: string, text: string): Promise<string> {
  const { formatCredits, parseCredits } = await import('../market/amount.ts')
  try {
    return formatCredits(parseCredits(text, flag))
  } catch (err) {
    // a flag the node would refuse is a usage error here (E600, exit 2), with the amount's own reason
    if (!isAgoraError(err, 'E1100')) throw err
    throw new AgoraError('E600', `${flag} takes credits, not '${text}'`, { why: err.why, hint: `e.g. ${flag} 0.5 (at most six decimals)` })
  }
}

/** A JSON Lines file → items (blank lines skipped); E600 naming the bad line. */
export function parseItems (text: string, name: string): unknown[] {
  const items: unknown[] = []
  const lines = text.split('\n')
  for (const [index, line] of lines.entries()) {
    if (line.trim() === '') continue
    try {
      items.push(JSON.parse(line))
    } catch (err) {
      throw new AgoraError('E600', `${name} line ${index + 1} is not JSON`, { why: messageOf(err), hint: 'put one JSON value per line, e.g. {"prompt": "…"}' })
    }
  }
  if (items.length === 0) throw new AgoraError('E600', `${name} has no items`, { hint: 'put one JSON value per line' })
  return items
}

/**
 * Which input the flags name: at most one of --file, --text, --items-file.
 * None is an empty item list: job types that need an input say so (E1004),
 * the debug types take none.
 */
export function inputSource (flags: Pick<SubmitFlags, 'file' | 'text' | 'itemsFile'>, read: (path: string) => string = readText): InputSource {
  const given = [flags.file, flags.text, flags.itemsFile].filter(v => v !== undefined).length
  if (given > 1) throw new AgoraError('E600', 'the job has more than one input', { hint: 'give one of --file F, --text S or --items-file F.jsonl' })
  if (given === 0) return { kind: 'items', items: [] }
  if (flags.file !== undefined) return { kind: 'file', path: flags.file }
  if (flags.text !== undefined) {
    if (flags.text === '') throw new AgoraError('E600', '--text is empty', { hint: 'give the text to process, or --file F' })
    return { kind: 'text', text: flags.text }
  }
  const path = flags.itemsFile as string
  return { kind: 'items', items: parseItems(read(path), path) }
}

/** The spec to submit but its input (checked before a file is uploaded). */
export async function buildJobSpec (flags: SubmitFlags, now = Date.now()): Promise<Omit<JobSpecInput, 'input'>> {
  const constraints: NonNullable<JobSpecInput['constraints']> = {}
  if (flags.maxPrice !== undefined) constraints.maxPricePerSubtask = await creditsFlag('--max-price', flags.maxPrice)
  if (flags.budget !== undefined) constraints.budget = await creditsFlag('--budget', flags.budget)
  if (flags.deadline !== undefined) constraints.deadline = parseDeadline(flags.deadline, now)
  if (flags.zone !== undefined) constraints.zone = flags.zone
  if (flags.auction === true) constraints.auction = true
  if (flags.model.length > 0) constraints.models = flags.model
  if (flags.tag.length > 0) constraints.tags = flags.tag
  return { type: flags.type, params: parseParams(flags.param), constraints }
}

/** Commander's collector for repeatable options. */
export function collect (value: string, previous: string[]): string[] {
  return [...previous, value]
}

function readText (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new AgoraError('E600', `cannot read ${path}`, { why: messageOf(err), hint: 'check the path and its permissions' })
  }
}
