/**
 * The wizard's steps: plain functions over the answers object, asking
 * through a `Prompter` and reaching the machine through `SetupProbes`, so
 * tests can drive them with scripted answers and no terminal. Each step
 * ends with next, back (to the previous step) or quit.
 */
import { resolve } from 'node:path'
import { AgoraError, messageOf } from '../../errors.ts'
import { PROVIDER_NAME } from '../../providers/constants.ts'
import type { HttpProviderKind } from '../../providers/index.ts'
import {
  checkBootstrapAddr, checkCredits, checkEngineUrl, PRICE_KEYS,
  type Check, type EngineChoice, type PriceKey, type SetupAnswers, type TrustMode
} from './answers.ts'

export interface Choice<T> {
  value: T
  name: string
  description?: string
  /** Checked at first (checkbox only). */
  checked?: boolean
}

/** What a step may ask. The terminal layer implements it with @inquirer/prompts. */
export interface Prompter {
  select<T>(message: string, choices: Array<Choice<T>>, defaultValue?: T): Promise<T>
  input(message: string, init?: { default?: string, validate?: Check }): Promise<string>
  checkbox<T>(message: string, choices: Array<Choice<T>>): Promise<T[]>
  say(text: string): void
}

/** What a step may look at on the machine. */
export interface SetupProbes {
  /** Peer id of the key in a PEM file; throws (E101) when it holds none. */
  pemPeerId(file: string): Promise<string>
  /** Engines that answer on their usual local ports. */
  discover(): Promise<EngineChoice[]>
  /** The test call: the model ids the engine lists; throws (E1342) when it does not answer as `kind`. */
  listModels(kind: HttpProviderKind, url: string): Promise<string[]>
}

export interface SetupContext {
  prompt: Prompter
  probes: SetupProbes
  /** Peer id of the key the data dir has now, if any. */
  existingPeerId: string | undefined
  /** The equivalent command lines of the answers (review). */
  commandsOf(answers: SetupAnswers): string[]
  /** Where the config is written (review). */
  configFile: string
  /** Whether the usual ports were probed in this run (the engines step does it on its first visit). */
  probed?: boolean
}

export type StepOutcome = 'next' | 'back' | 'quit'
export type Step = (answers: SetupAnswers, ctx: SetupContext) => Promise<StepOutcome>

const BACK = '__back'
const backChoice = { value: BACK, name: '← back' } as const

/** Runs the steps in order, stepping back when one says so; false when the user quit. */
export async function runSteps (steps: readonly Step[], answers: SetupAnswers, ctx: SetupContext): Promise<boolean> {
  let i = 0
  while (i < steps.length) {
    const outcome = await (steps[i] as Step)(answers, ctx)
    if (outcome === 'quit') return false
    i = outcome === 'back' ? Math.max(0, i - 1) : i + 1
  }
  return true
}

/** Step 1: keep or create the node key, or import one from a PEM file. */
export const identityStep: Step = async (answers, ctx) => {
  const { prompt, existingPeerId } = ctx
  for (;;) {
    const choices: Array<Choice<'keep' | 'create' | 'import'>> = existingPeerId === undefined
      ? [{ value: 'create', name: 'create a new key' }, { value: 'import', name: 'import a key from a PEM file' }]
      : [{ value: 'keep', name: `keep this node's key (${existingPeerId})` }, { value: 'import', name: 'import a key from a PEM file (replaces this one)' }]
    const action = await prompt.select('Identity: the key that names this node', choices, answers.identity.action)
    if (action !== 'import') {
      answers.identity = action === 'keep' ? { action, peerId: existingPeerId } : { action }
      return 'next'
    }
    const file = resolve(await prompt.input('PEM file with the Ed25519 key (from `agora identity export`)', { default: answers.identity.pemFile, validate: nonEmpty }))
    try {
      const peerId = await ctx.probes.pemPeerId(file)
      prompt.say(`  the key in ${file} is peer ${peerId}`)
      answers.identity = { action, pemFile: file, peerId, replaces: existingPeerId !== undefined }
      return 'next'
    } catch (err) {
      prompt.say(`  ${describe(err)}`)
    }
  }
}

/** Step 2: engines found on their usual ports, more by URL (each tested), and which to serve. */
export const enginesStep: Step = async (answers, ctx) => {
  const { prompt } = ctx
  const engines = answers.engines
  if (ctx.probed !== true) { await discoverEngines(answers, ctx); ctx.probed = true }
  for (;;) {
    listEngines(answers, prompt)
    const next = await prompt.select('Engines', [
      { value: 'next', name: 'continue' },
      { value: 'add', name: 'add an engine by URL (tested with a call that lists its models)' },
      backChoice
    ], 'next')
    if (next === BACK) return 'back'
    if (next === 'add') { await addEngine(answers, ctx); continue }
    const all = [...engines.found, ...engines.added]
    if (all.length > 0) {
      engines.serve = await prompt.checkbox('Serve which engines?', all.map(e => ({ value: e.name, name: `${e.name} (${e.url})`, checked: engines.serve.includes(e.name) })))
    }
    return 'next'
  }
}

/** Probes the usual ports once per run (a step revisited shows what was found). */
export async function discoverEngines (answers: SetupAnswers, ctx: SetupContext): Promise<void> {
  ctx.prompt.say('Looking for engines on the usual local ports (Ollama 11434, LM Studio 1234, llama.cpp 8080)…')
  const found = await ctx.probes.discover()
  answers.engines.found = found
  answers.engines.serve = [...new Set([...answers.engines.serve, ...found.map(e => e.name)])]
}

function listEngines (answers: SetupAnswers, prompt: Prompter): void {
  const all = [...answers.engines.found, ...answers.engines.added]
  if (all.length === 0) { prompt.say('  no engine found or added yet (the embedded wink-nlp engine is always served)'); return }
  for (const e of all) prompt.say(`  ${e.source === 'found' ? 'found' : 'added'}: ${e.name} ${e.kind} ${e.url} — ${e.models.length} model(s)${e.models.length > 0 ? `: ${e.models.slice(0, 5).join(', ')}` : ''}`)
}

async function addEngine (answers: SetupAnswers, ctx: SetupContext): Promise<void> {
  const { prompt, probes } = ctx
  const url = (await prompt.input('Engine URL, e.g. http://127.0.0.1:11434 (Ollama) or http://10.0.0.5:8000/v1', { validate: checkEngineUrl })).trim().replace(/\/+$/, '')
  const kind = await prompt.select<HttpProviderKind>('Which API does it speak?', [
    { value: 'ollama', name: 'Ollama' },
    { value: 'openai', name: 'OpenAI-compatible (LM Studio, llama.cpp, vLLM, …)' }
  ], /:11434(\/|$)/.test(url) ? 'ollama' : 'openai')
  const taken = new Set([...answers.engines.found, ...answers.engines.added].map(e => e.name))
  const name = (await prompt.input('Name for it', { default: engineName(url, kind, taken), validate: checkEngineName(taken) })).trim()
  try {
    const models = await probes.listModels(kind, url)
    prompt.say(`  ${name} answered: ${models.length} model(s)${models.length > 0 ? `: ${models.slice(0, 5).join(', ')}` : ''}`)
    answers.engines.added.push({ name, kind, url, source: 'added', models })
    answers.engines.serve.push(name)
  } catch (err) {
    prompt.say(`  not added: ${describe(err)}`)
  }
}

/** A provider name from the kind and where it runs: `ollama-11434` on this machine, `openai-gpu1-8000` elsewhere. */
export function engineName (url: string, kind: HttpProviderKind, taken: ReadonlySet<string>): string {
  const { hostname, port, protocol } = new URL(url)
  const local = hostname === '127.0.0.1' || hostname === 'localhost' || hostname === '[::1]'
  const where = `${local ? '' : `${hostname}-`}${port === '' ? (protocol === 'https:' ? '443' : '80') : port}`
  const base = `${kind}-${where}`.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 56)
  let name = base
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`
  return name
}

function checkEngineName (taken: ReadonlySet<string>): Check {
  return text => {
    const name = text.trim()
    if (!PROVIDER_NAME.test(name)) return '1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit'
    return taken.has(name) ? `'${name}' is taken` : true
  }
}

/** Step 3: who may use this node's compute, and at what price. */
export const sharingStep: Step = async (answers, ctx) => {
  const { prompt } = ctx
  const mode = await prompt.select<TrustMode | typeof BACK>('Sharing: who may use this node\'s compute?', [
    { value: 'private', name: 'private — only this node' },
    { value: 'friends', name: 'friends — peers you trust (`agora peers trust`)' },
    { value: 'public', name: 'public — any peer not banned' },
    backChoice
  ], answers.trustMode)
  if (mode === BACK) return 'back'
  answers.trustMode = mode
  if (mode === 'private') return 'next' // nobody else buys: prices stay as they are
  const labels: Record<PriceKey, string> = { perTask: 'one task (job subtask)', per1kPromptTokens: '1,000 prompt tokens', per1kCompletionTokens: '1,000 completion tokens' }
  for (const key of PRICE_KEYS) {
    answers.prices[key] = (await prompt.input(`Price of ${labels[key]}, in credits`, { default: answers.prices[key], validate: checkCredits })).trim()
  }
  return 'next'
}

/** Step 4: peers to dial at start. */
export const bootstrapStep: Step = async (answers, ctx) => {
  const { prompt } = ctx
  for (;;) {
    prompt.say(answers.bootstrap.length === 0 ? '  no bootstrap peer (peers on this network are found by mDNS)' : answers.bootstrap.map(a => `  ${a}`).join('\n'))
    const choices: Array<Choice<string>> = [{ value: 'next', name: 'continue' }, { value: 'add', name: 'add a peer address (multiaddr)' }]
    if (answers.bootstrap.length > 0) choices.push({ value: 'remove', name: 'remove one' })
    const next = await prompt.select('Bootstrap peers', [...choices, backChoice], 'next')
    if (next === BACK) return 'back'
    if (next === 'next') return 'next'
    if (next === 'add') {
      const addr = (await prompt.input('Peer address, e.g. /ip4/192.0.2.7/tcp/41145/p2p/12D3KooW…', { validate: checkBootstrapAddr })).trim()
      if (!answers.bootstrap.includes(addr)) answers.bootstrap.push(addr)
    } else {
      const gone = await prompt.select('Remove which?', answers.bootstrap.map(a => ({ value: a, name: a })))
      answers.bootstrap = answers.bootstrap.filter(a => a !== gone)
    }
  }
}

/** Step 5: the equivalent commands, then write, go back, or quit. */
export const reviewStep: Step = async (answers, ctx) => {
  const { prompt } = ctx
  prompt.say('Review — the same as running:')
  for (const line of ctx.commandsOf(answers)) prompt.say(`  ${line}`)
  const next = await prompt.select('Write it?', [
    { value: 'write', name: `write ${ctx.configFile}` },
    backChoice,
    { value: 'quit', name: 'quit without writing' }
  ], 'write')
  return next === BACK ? 'back' : next === 'quit' ? 'quit' : 'next'
}

export const SETUP_STEPS: readonly Step[] = [identityStep, enginesStep, sharingStep, bootstrapStep, reviewStep]

const nonEmpty: Check = text => text.trim() === '' ? 'a path, please' : true

function describe (err: unknown): string {
  return err instanceof AgoraError ? err.format() : messageOf(err)
}
