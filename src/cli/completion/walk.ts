/**
 * What may come next on an `agora …` command line: walk the commander tree
 * along the words typed so far and name the candidates for the last one —
 * subcommands, flags (the command's own and every ancestor's, the globals
 * among them), option and argument choices, file names, or a slot that takes
 * a live id (see live-ids.ts). Pure: it never asks the node.
 */
import type { Argument, Command, Option } from 'commander'
import { idKindOf, type IdKind } from './live-ids.ts'

export interface Candidate {
  value: string
  description: string
}

export interface Completion {
  /** Candidates already matching the word being completed. */
  candidates: Candidate[]
  /** Let the shell complete file names (a `<file>` or `<dir>` slot). */
  files: boolean
  /** The slot takes an id the running node knows. */
  live: IdKind | undefined
  /** Global options typed so far (--data-dir, --config): which node to ask. */
  globals: { dataDir: string | undefined }
}

/** The value slot being completed: an option's value or a positional argument. */
type Slot = { kind: 'option', option: Option, cmd: Command } | { kind: 'argument', argument: Argument, cmd: Command }

/**
 * `words` are the words after `agora`, the last being the one under the
 * cursor ('' right after a space).
 */
export function complete (program: Command, words: string[]): Completion {
  const typed = words.slice(0, -1)
  const current = words.at(-1) ?? ''
  let cmd = program
  let positional = 0
  let pending: Option | undefined // an option whose value comes next
  let variadic: Option | undefined // an option that keeps taking values
  let afterDashes = false
  const globals: Completion['globals'] = { dataDir: undefined }
  for (let i = 0; i < typed.length; i++) {
    const word = typed[i] as string
    if (pending !== undefined) {
      noteGlobal(globals, pending, word)
      if (pending.variadic) variadic = pending
      pending = undefined
      continue
    }
    if (!afterDashes && word === '--') { afterDashes = true; continue }
    if (!afterDashes && word.startsWith('-') && word !== '-') {
      variadic = undefined
      const [flag = '', inline] = splitInline(word)
      const option = findOption(cmd, flag)
      if (option === undefined || !takesValue(option)) continue
      if (inline !== undefined) { noteGlobal(globals, option, inline); continue }
      // an optional value ([seconds]) is taken only when the next word is not a flag
      const next = typed[i + 1]
      if (option.required || (next !== undefined && !next.startsWith('-'))) pending = option
      continue
    }
    if (variadic !== undefined) continue
    const sub = positional === 0 ? findSubcommand(cmd, word) : undefined
    if (sub !== undefined) { cmd = sub; continue }
    positional++
  }
  const withGlobals = (c: Omit<Completion, 'globals'>): Completion => ({ ...c, globals })
  if (pending !== undefined) return withGlobals(valuesFor({ kind: 'option', option: pending, cmd }, current))
  if (!afterDashes && current.startsWith('-')) return withGlobals({ candidates: matching(flags(cmd), current), files: false, live: undefined })
  if (variadic !== undefined) return withGlobals(valuesFor({ kind: 'option', option: variadic, cmd }, current))
  // a command that groups others offers them; a verb offers what its next argument takes
  if (positional === 0 && subcommands(cmd).length > 0) return withGlobals({ candidates: matching(subcommands(cmd), current), files: false, live: undefined })
  const slot = argumentSlot(cmd, positional)
  if (slot === undefined) return withGlobals({ candidates: [], files: false, live: undefined })
  return withGlobals(valuesFor(slot, current))
}

function valuesFor (slot: Slot, current: string): Omit<Completion, 'globals'> {
  const choices = slot.kind === 'option' ? slot.option.argChoices : slot.argument.argChoices
  const description = slot.kind === 'option' ? slot.option.description : slot.argument.description
  if (choices !== undefined) return { candidates: matching(choices.map(value => ({ value, description })), current), files: false, live: undefined }
  const live = slot.kind === 'option' ? idKindOf(slot.cmd, optionName(slot.option)) : idKindOf(slot.cmd, `<${slot.argument.name()}>`)
  if (live !== undefined) return { candidates: [], files: false, live }
  const valueName = slot.kind === 'option' ? /[<[]([^>\]]+)[>\]]/.exec(slot.option.flags)?.[1] ?? '' : slot.argument.name()
  return { candidates: [], files: /(file|dir|path)$/i.test(valueName.replace(/\.\.\.$/, '')), live: undefined }
}

/** The positional argument at `index` (the last one when it is variadic). */
function argumentSlot (cmd: Command, index: number): Slot | undefined {
  const args = cmd.registeredArguments
  const last = args.at(-1)
  const argument = args[index] ?? (last?.variadic === true ? last : undefined)
  return argument === undefined ? undefined : { kind: 'argument', argument, cmd }
}

function subcommands (cmd: Command): Candidate[] {
  return cmd.commands.filter(c => !isHidden(c)).map(c => ({ value: c.name(), description: c.description() }))
}

/** The command's flags, then those of its ancestors (globals last), then --help. */
function flags (cmd: Command): Candidate[] {
  const out: Candidate[] = []
  const seen = new Set<string>()
  for (let at: Command | null = cmd; at !== null; at = at.parent) {
    for (const option of at.options) {
      // --version belongs to `agora` itself, not to its subcommands
      if (option.hidden || (at !== cmd && option.long === '--version')) continue
      for (const flag of [option.long, option.short]) {
        if (flag === undefined || seen.has(flag)) continue
        seen.add(flag)
        out.push({ value: flag, description: option.description })
      }
    }
  }
  if (!seen.has('--help')) out.push({ value: '--help', description: 'show help for this command' })
  return out
}

function matching (candidates: Candidate[], current: string): Candidate[] {
  return candidates.filter(c => c.value.startsWith(current))
}

function findOption (cmd: Command, flag: string): Option | undefined {
  for (let at: Command | null = cmd; at !== null; at = at.parent) {
    const option = at.options.find(o => o.long === flag || o.short === flag)
    if (option !== undefined) return option
  }
  return undefined
}

function findSubcommand (cmd: Command, word: string): Command | undefined {
  return cmd.commands.find(c => c.name() === word || c.aliases().includes(word))
}

function takesValue (option: Option): boolean {
  return option.required || option.optional
}

function splitInline (word: string): [string, string | undefined] {
  const at = word.indexOf('=')
  return at > 0 && word.startsWith('--') ? [word.slice(0, at), word.slice(at + 1)] : [word, undefined]
}

function noteGlobal (globals: Completion['globals'], option: Option, value: string): void {
  if (option.long === '--data-dir') globals.dataDir = value
}

/** `--model`, the key live-ids.ts uses for an option. */
function optionName (option: Option): string {
  return option.long ?? option.short ?? option.flags
}

function isHidden (cmd: Command): boolean {
  // commander keeps this private; it is how `.command(name, { hidden: true })` is stored
  return (cmd as unknown as { _hidden?: boolean })._hidden === true
}
