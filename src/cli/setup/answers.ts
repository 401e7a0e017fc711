/**
 * What `agora setup` asks, as plain data: the answers object the steps fill
 * in, where its first values come from (the config in use), and what it
 * turns into — config keys, provider specs, and the equivalent command lines
 * shown at review and printed when there is no terminal.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { AgoraConfig } from '../../config/index.ts'
import { parseCredits } from '../../market/amount.ts'
import { AgoraError, messageOf } from '../../errors.ts'
import type { HttpProviderKind, ProviderSpec } from '../../providers/index.ts'

export type TrustMode = AgoraConfig['access']['trustMode']
export type PriceKey = 'perTask' | 'per1kPromptTokens' | 'per1kCompletionTokens'
export const PRICE_KEYS: readonly PriceKey[] = ['perTask', 'per1kPromptTokens', 'per1kCompletionTokens']

export interface EngineChoice {
  /** Provider name, e.g. `ollama-local` (found) or what the user typed (added). */
  name: string
  kind: HttpProviderKind
  url: string
  /** found: answered on its usual local port; added: typed in by URL and tested. */
  source: 'found' | 'added'
  /** Model ids the engine listed, when it was asked. */
  models: string[]
}

export interface SetupAnswers {
  identity: {
    /** keep the key of the data dir, create one (none yet), or import a PEM file. */
    action: 'keep' | 'create' | 'import'
    pemFile?: string | undefined
    /** Peer id of the key that will be in use (unknown for `create` until it is made). */
    peerId?: string | undefined
    /** Whether an import replaces a key the data dir has. */
    replaces?: boolean | undefined
  }
  engines: {
    found: EngineChoice[]
    added: EngineChoice[]
    /** Names of the found and added engines to serve. */
    serve: string[]
    /** providers.discovery as it was: kept when nothing was found to choose from. */
    discovery: boolean
  }
  trustMode: TrustMode
  prices: Record<PriceKey, string>
  bootstrap: string[]
}

/** The answers a config (the one in use, or the defaults) starts the wizard with. */
export function initialAnswers (config: AgoraConfig, existingPeerId: string | undefined): SetupAnswers {
  return {
    identity: existingPeerId === undefined ? { action: 'create' } : { action: 'keep', peerId: existingPeerId },
    engines: { found: [], added: [], serve: [], discovery: config.providers.discovery },
    trustMode: config.access.trustMode,
    prices: {
      perTask: String(config.offers.prices.perTask),
      per1kPromptTokens: String(config.offers.prices.per1kPromptTokens),
      per1kCompletionTokens: String(config.offers.prices.per1kCompletionTokens)
    },
    bootstrap: [...config.network.bootstrap]
  }
}

/** providers.discovery: on while every found engine is served (discovery finds them again at start). */
export function discoveryOf (answers: SetupAnswers): boolean {
  const { found, serve, discovery } = answers.engines
  if (found.length === 0) return discovery
  return found.every(e => serve.includes(e.name))
}

/**
 * Engines to persist as user providers: the added ones chosen, and — when
 * discovery goes off because some found engine was left out — the found
 * ones chosen, so they are still served.
 */
export function providerSpecs (answers: SetupAnswers): ProviderSpec[] {
  const { found, added, serve } = answers.engines
  const pinned = discoveryOf(answers) ? [] : found.filter(e => serve.includes(e.name))
  return [...pinned, ...added.filter(e => serve.includes(e.name))].map(e => ({ name: e.name, kind: e.kind, url: e.url }))
}

export interface ConfigEdit {
  key: string
  /** The value as `agora config set` takes it (lists as JSON). */
  value: string
}

/** The config keys the answers set, in the order the wizard asks them. */
export function configEdits (answers: SetupAnswers): ConfigEdit[] {
  // the file's format `version` is not among them: `config init` writes it, and only `config migrate` changes it
  const edits: ConfigEdit[] = []
  edits.push({ key: 'providers.discovery', value: String(discoveryOf(answers)) })
  edits.push({ key: 'access.trustMode', value: answers.trustMode })
  for (const key of PRICE_KEYS) edits.push({ key: `offers.prices.${key}`, value: answers.prices[key] })
  edits.push({ key: 'network.bootstrap', value: JSON.stringify(answers.bootstrap) })
  return edits
}

/**
 * The commands that do by hand what the answers do: shown at review, and
 * printed when there is no terminal. `configFile` and `dataDir` are named
 * (--config, --data-dir) when they are not the ones agora picks by itself.
 */
export function equivalentCommands (answers: SetupAnswers, init: { configFile?: string | undefined, dataDir?: string | undefined, fresh: boolean }): string[] {
  const cfg = init.configFile === undefined ? '' : ` --config ${shellQuote(init.configFile)}`
  const dir = init.dataDir === undefined ? '' : ` --data-dir ${shellQuote(init.dataDir)}`
  const lines: string[] = []
  if (answers.identity.action === 'import' && answers.identity.pemFile !== undefined) {
    lines.push(`agora identity import ${shellQuote(answers.identity.pemFile)}${answers.identity.replaces === true ? ' --force' : ''}${dir}`)
  }
  if (init.fresh) lines.push(init.configFile === undefined ? 'agora config init' : `agora config init --path ${shellQuote(init.configFile)}`)
  for (const edit of configEdits(answers)) lines.push(`agora config set ${edit.key} ${shellQuote(edit.value)}${cfg}`)
  for (const spec of providerSpecs(answers)) lines.push(`agora providers add ${shellQuote(spec.name)} --kind ${spec.kind} --url ${shellQuote(spec.url)}${dir}`)
  return lines
}

/** A word as a POSIX shell reads it back: bare when safe, else in single quotes. */
export function shellQuote (word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word
  return `'${word.replace(/'/g, `'\\''`)}'`
}

/** A prompt's check: true, or what is wrong with the answer. */
export type Check = (text: string) => true | string

/** A bootstrap address: a multiaddr that names its peer (`…/p2p/<peer id>`). */
export const checkBootstrapAddr: Check = text => {
  const trimmed = text.trim()
  if (!trimmed.startsWith('/')) return 'a multiaddr starts with "/", e.g. /ip4/192.0.2.7/tcp/41145/p2p/12D3KooW…'
  try {
    const addr = multiaddr(trimmed)
    if (addr.getComponents().every(c => c.name !== 'p2p')) return 'a bootstrap address ends in /p2p/<peer id>'
  } catch (err) {
    return `not a multiaddr: ${messageOf(err)}`
  }
  return true
}

/** A price: credits as a decimal, not negative, at most six decimals. */
export const checkCredits: Check = text => {
  try {
    parseCredits(text.trim(), 'price')
    return true
  } catch (err) {
    return err instanceof AgoraError && err.why !== undefined ? `${err.what}: ${err.why}` : messageOf(err)
  }
}

/** An engine URL: http(s), no credentials, query or fragment (what `providers add` takes). */
export const checkEngineUrl: Check = text => {
  let url: URL
  try {
    url = new URL(text.trim())
  } catch {
    return 'not a URL: write it whole, e.g. http://127.0.0.1:11434'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `the URL must be http or https, not ${url.protocol}`
  if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return 'the URL must not carry credentials, a query or a fragment'
  return true
}
