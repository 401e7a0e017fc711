/**
 * The node's inference providers, in one place: the built-in ones (the
 * embedded wink engine), those the user added (`agora providers add`, kept
 * in the kv store, taking effect at once) and those discovery found on the
 * usual local ports. Every provider is registered in the capability
 * registry, so its models feed the node's offer.
 *
 * One round runs at start and every `discoveryIntervalMs`: discovery (an
 * engine missing `discoveryMisses` rounds in a row is unregistered), a health
 * check of every provider, then a model refresh (cached for `modelsTtlMs`)
 * of those not unhealthy. Any change of a provider's health or models calls
 * `registry.changed()`, so the offer is re-announced.
 */
import { AgoraError, messageOf } from '../errors.ts'
import { PROVIDER_DEFAULTS } from './constants.ts'
import { discoveryCandidates, probeCandidate, type DiscoveryCandidate } from './discovery.ts'
import type { Agent } from 'undici'
import { HttpProvider, newProviderAgent, type RefreshOptions } from './http/base.ts'
import { cancelled } from './http/upstream.ts'
import { createProviderMetrics, type ProviderMetrics } from './metrics.ts'
import { OllamaProvider } from './ollama/provider.ts'
import { OpenAICompatibleProvider } from './openai-compatible/provider.ts'
import { loadSpecs, sameEngine, saveSpecs, validateSpec, type ProviderSpec } from './specs.ts'
import type { Logger } from '../observability/logger.ts'
import type { HealthStatus, InferenceCallOptions, InferenceProvider } from './inference.ts'
import type { ModelCapability } from './registry.ts'
import { HealthAnnouncer } from './health-announcer.ts'
import type { ProviderInfo, ProviderManagerComponents, ProviderManagerInit, ProviderSource, ProviderTestResult } from './manager-types.ts'

export type { ProviderInfo, ProviderManagerComponents, ProviderManagerInit, ProviderSource, ProviderTestResult } from './manager-types.ts'

interface Entry {
  provider: InferenceProvider
  source: ProviderSource
  spec?: ProviderSpec
  /** Discovery rounds in a row the engine was not found. */
  misses: number
}

const RANK: Record<HealthStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 }

export class ProviderManager {
  private readonly c: ProviderManagerComponents
  private readonly log: Logger
  private readonly metrics: ProviderMetrics | undefined
  private readonly init: Required<Omit<ProviderManagerInit, 'discoveryPorts' | 'env'>> & Pick<ProviderManagerInit, 'discoveryPorts' | 'env'>
  private readonly entries = new Map<string, Entry>()
  /** Names being added (probe in progress). */
  private readonly reserved = new Set<string>()
  private shutdown = new AbortController()
  private timer: NodeJS.Timeout | undefined
  private round: Promise<void> | undefined
  private lastSignature = ''
  /** provider:status when a provider's health changes. */
  private readonly statuses: HealthAnnouncer
  /** Connections of discovery probes (each provider has its own pool). */
  private probes: Agent | undefined

  constructor (components: ProviderManagerComponents, init: ProviderManagerInit = {}) {
    this.statuses = new HealthAnnouncer(components.events)
    this.c = components
    this.log = components.logger.forComponent('agora:providers')
    this.metrics = createProviderMetrics(components.metrics, this)
    this.init = {
      discovery: init.discovery ?? true,
      discoveryIntervalMs: init.discoveryIntervalMs ?? PROVIDER_DEFAULTS.intervalMs,
      modelsTtlMs: init.modelsTtlMs ?? PROVIDER_DEFAULTS.modelsTtlMs,
      discoveryPorts: init.discoveryPorts,
      discoveryHost: init.discoveryHost ?? PROVIDER_DEFAULTS.discoveryHost,
      discoveryTimeoutMs: init.discoveryTimeoutMs ?? PROVIDER_DEFAULTS.discoveryTimeoutMs,
      discoveryMisses: init.discoveryMisses ?? PROVIDER_DEFAULTS.discoveryMisses,
      probeTimeoutMs: init.probeTimeoutMs ?? PROVIDER_DEFAULTS.probeTimeoutMs,
      slots: init.slots ?? PROVIDER_DEFAULTS.slots,
      env: init.env
    }
  }

  /** Registers the built-in and the user's providers, then runs the first round in the background and one every interval. */
  start (): void {
    if (this.timer !== undefined) return
    this.shutdown = new AbortController()
    for (const provider of this.c.builtin ?? []) this.register({ provider, source: 'builtin', misses: 0 })
    const { specs, invalid } = loadSpecs(this.c.store.kv)
    for (const { entry, why } of invalid) this.log.warn({ entry, why }, 'ignoring a stored provider')
    for (const spec of specs) {
      if (this.entries.has(spec.name) || this.c.registry.get(spec.name) !== undefined) this.log.warn({ name: spec.name }, 'a stored provider has the name of a built-in one; ignored')
      else this.register({ provider: this.adapter(spec), source: 'user', spec, misses: 0 })
    }
    this.timer = setInterval(() => { void this.refresh() }, this.init.discoveryIntervalMs)
    this.timer.unref()
    void this.refresh()
  }

  /** Stops the timer and the HTTP adapters (calls in flight fail with E700). Built-in providers are left to their owner. */
  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    this.shutdown.abort()
    await this.round
    await this.probes?.destroy().catch(() => {})
    this.probes = undefined
    await Promise.all([...this.entries.values()].filter(e => e.source !== 'builtin').map(async e => await e.provider.stop()))
  }

  /**
   * Discovery turned on or off, or another interval (config changed at run
   * time). Off drops the engines discovery found; on, or a new interval, runs
   * a round now and then every interval.
   */
  async reconfigure (changes: { discovery?: boolean, discoveryIntervalMs?: number }): Promise<void> {
    if (changes.discovery !== undefined) this.init.discovery = changes.discovery
    if (changes.discoveryIntervalMs !== undefined) this.init.discoveryIntervalMs = changes.discoveryIntervalMs
    if (changes.discovery === false) {
      await this.round
      await Promise.all([...this.entries.values()].filter(e => e.source === 'discovered').map(async e => { await this.drop(e) }))
    }
    if (this.timer === undefined) return
    clearInterval(this.timer)
    this.timer = setInterval(() => { void this.refresh() }, this.init.discoveryIntervalMs)
    this.timer.unref()
    if (changes.discovery !== false) void this.refresh()
  }

  /** One round now (discovery, health, models); joins the round in progress if there is one. Never rejects. */
  async refresh (opts: InferenceCallOptions = {}): Promise<void> {
    this.round ??= this.runRound(opts.signal).finally(() => { this.round = undefined })
    await this.round
  }

  /** Adds a user provider: checks the spec (E710), probes it once, persists it and registers it. Resolves with its state, healthy or not. */
  async add (input: { name: string, kind: string, url: string, apiKeyEnv?: string | undefined }, opts: InferenceCallOptions = {}): Promise<ProviderInfo> {
    const spec = validateSpec(input)
    this.assertFree(spec)
    this.reserved.add(spec.name)
    try {
      const provider = this.adapter(spec)
      await this.check(provider, opts.signal)
      if (opts.signal?.aborted === true) {
        await provider.stop()
        throw cancelled(opts.signal)
      }
      this.reserved.delete(spec.name)
      this.assertFree(spec)
      saveSpecs(this.c.store.kv, [...this.userSpecs(), spec])
      // a discovered provider of that name, or for the same engine, gives way to the user's
      for (const entry of [...this.entries.values()]) {
        if (entry.source === 'discovered' && (entry.provider.id === spec.name || (entry.spec !== undefined && sameEngine(entry.spec.url, spec.url)))) void this.drop(entry)
      }
      const entry: Entry = { provider, source: 'user', spec, misses: 0 }
      this.register(entry)
      this.log.info({ name: spec.name, kind: spec.kind, url: spec.url, health: provider.health().status }, 'provider added')
      return this.info(entry)
    } finally {
      this.reserved.delete(spec.name)
    }
  }

  /** Removes a user provider (E711 unknown, E710 not one the user added). */
  async remove (name: string): Promise<void> {
    const entry = this.entry(name)
    if (entry.source !== 'user') {
      throw new AgoraError('E710', `provider '${name}' cannot be removed`, {
        why: `it is ${entry.source === 'builtin' ? 'built in' : 'discovered'}; only providers added with \`agora providers add\` can be removed`,
        hint: entry.source === 'builtin' ? `disable it in the config (providers.${entry.provider.id}.enabled false)` : 'stop the engine, or turn discovery off (providers.discovery false)'
      })
    }
    const stopped = this.drop(entry)
    saveSpecs(this.c.store.kv, this.userSpecs())
    await stopped
    this.log.info({ name }, 'provider removed')
  }

  /** Health and model list, checked now. */
  async test (name: string, opts: InferenceCallOptions = {}): Promise<ProviderTestResult> {
    const entry = this.entry(name)
    const started = performance.now()
    const health = await entry.provider.checkHealth(opts)
    const result: ProviderTestResult = { name, health, models: [], ms: 0 }
    if (health.status !== 'unhealthy') {
      try {
        const refresh: RefreshOptions = { signal: opts.signal, force: true }
        result.models = await entry.provider.refreshModels(refresh)
      } catch (err) {
        result.modelsError = messageOf(err) + (err instanceof AgoraError && err.why !== undefined ? `: ${err.why}` : '')
      }
    }
    result.health = entry.provider.health()
    result.ms = performance.now() - started
    this.noteChange()
    return result
  }

  list (): ProviderInfo[] {
    const order: Record<ProviderSource, number> = { builtin: 0, user: 1, discovered: 2 }
    return [...this.entries.values()]
      .sort((a, b) => order[a.source] - order[b.source] || a.provider.id.localeCompare(b.provider.id))
      .map(e => this.info(e))
  }

  get (id: string): InferenceProvider | undefined {
    return this.entries.get(id)?.provider
  }

  providers (): InferenceProvider[] {
    return [...this.entries.values()].map(e => e.provider)
  }

  /** Providers listing `model`, healthy first, then degraded, then unhealthy (the gateway's breakers decide whether to try those). */
  providerFor (model: string): InferenceProvider[] {
    return [...this.entries.values()]
      .filter(e => knownModels(e.provider).some(m => m.name === model))
      .map(e => ({ provider: e.provider, rank: RANK[e.provider.health().status] }))
      .sort((a, b) => a.rank - b.rank)
      .map(e => e.provider)
  }

  /** For the metrics gauges. */
  gaugeRows (): Array<{ provider: string, status: HealthStatus, models: number }> {
    return [...this.entries.values()].map(e => ({ provider: e.provider.id, status: e.provider.health().status, models: knownModels(e.provider).length }))
  }

  /** Re-announces the offer when a provider's health or advertised models changed since the last look. */
  private noteChange (): void {
    const signature = this.signature()
    if (signature === this.lastSignature) return
    this.lastSignature = signature
    this.c.registry.changed()
    this.announceHealth()
  }

  private announceHealth (): void {
    this.statuses.announce([...this.entries.values()].map(e => ({ provider: e.provider, models: knownModels(e.provider).length })))
  }



  private async runRound (signal: AbortSignal | undefined): Promise<void> {
    const combined = signal === undefined ? this.shutdown.signal : AbortSignal.any([signal, this.shutdown.signal])
    try {
      if (this.init.discovery) await this.discover(combined)
      await Promise.all([...this.entries.values()].map(async e => { await this.check(e.provider, combined) }))
    } catch (err) {
      if (!combined.aborted) this.log.warn({ err: messageOf(err) }, 'provider round failed')
    }
    this.noteChange()
  }

  /** Health check, then (not unhealthy) the model list within its TTL. Errors land in the provider's health. */
  private async check (provider: InferenceProvider, signal: AbortSignal | undefined): Promise<void> {
    try {
      const health = await provider.checkHealth({ signal })
      if (health.status !== 'unhealthy') await provider.refreshModels({ signal })
    } catch (err) {
      if (signal?.aborted !== true) this.log.debug({ provider: provider.id, err: messageOf(err) }, 'provider check failed')
    }
  }

  private async discover (signal: AbortSignal): Promise<void> {
    const candidates = discoveryCandidates(this.init.discoveryHost, this.init.discoveryPorts)
      .filter(c => !this.isClaimed(c))
    this.probes ??= newProviderAgent()
    const probes = this.probes
    const found = await Promise.all(candidates.map(async c => await probeCandidate(c, probes, this.init.discoveryTimeoutMs, signal)))
    if (signal.aborted) return
    candidates.forEach((candidate, i) => {
      const existing = this.entries.get(candidate.name)
      if (found[i] === true) {
        if (existing !== undefined) existing.misses = 0
        else if (!this.isClaimed(candidate)) {
          const spec: ProviderSpec = { name: candidate.name, kind: candidate.kind, url: candidate.url }
          this.register({ provider: this.adapter(spec), source: 'discovered', spec, misses: 0 })
          this.log.info({ name: candidate.name, url: candidate.url }, 'engine discovered')
        }
      } else if (existing !== undefined && ++existing.misses >= this.init.discoveryMisses) {
        void this.drop(existing)
        this.log.info({ name: candidate.name, url: candidate.url }, 'discovered engine gone')
      }
    })
  }

  /** A candidate is claimed when its name belongs to a non-discovered provider, or a user provider points at the same engine. */
  private isClaimed (candidate: DiscoveryCandidate): boolean {
    if (this.reserved.has(candidate.name)) return true
    const named = this.entries.get(candidate.name)
    if (named !== undefined && named.source !== 'discovered') return true
    if (named === undefined && this.c.registry.get(candidate.name) !== undefined) return true
    return [...this.entries.values()].some(e => e.source === 'user' && e.spec !== undefined && sameEngine(e.spec.url, candidate.url))
  }

  private assertFree (spec: ProviderSpec): void {
    const existing = this.entries.get(spec.name)
    const taken = existing === undefined ? this.c.registry.get(spec.name) !== undefined : existing.source !== 'discovered'
    if (taken || this.reserved.has(spec.name)) {
      throw new AgoraError('E710', 'invalid provider', { why: `a provider named '${spec.name}' exists already` })
    }
    const twin = [...this.entries.values()].find(e => e.source === 'user' && e.spec !== undefined && sameEngine(e.spec.url, spec.url))
    if (twin !== undefined) throw new AgoraError('E710', 'invalid provider', { why: `provider '${twin.provider.id}' already points at ${new URL(spec.url).origin}` })
  }

  private adapter (spec: ProviderSpec): HttpProvider {
    const components = { logger: this.c.logger, metrics: this.metrics, onChange: () => { this.noteChange() } }
    const init = {
      id: spec.name,
      url: spec.url,
      apiKeyEnv: spec.apiKeyEnv,
      slots: this.init.slots,
      modelsTtlMs: this.init.modelsTtlMs,
      probeTimeoutMs: this.init.probeTimeoutMs,
      ...(this.init.env === undefined ? {} : { env: this.init.env })
    }
    return spec.kind === 'ollama' ? new OllamaProvider(components, init) : new OpenAICompatibleProvider(components, init)
  }

  private register (entry: Entry): void {
    this.entries.set(entry.provider.id, entry)
    if (this.c.registry.get(entry.provider.id) === undefined) this.c.registry.register(entry.provider)
    else if (this.c.registry.get(entry.provider.id) !== entry.provider) this.log.warn({ provider: entry.provider.id }, 'another source holds this id in the registry')
    // the registry announced the change itself
    this.lastSignature = this.signature()
    this.announceHealth()
  }

  /** Unregisters a provider and stops it (unless built in). */
  private async drop (entry: Entry): Promise<void> {
    this.entries.delete(entry.provider.id)
    if (this.c.registry.get(entry.provider.id) === entry.provider) this.c.registry.unregister(entry.provider.id)
    this.lastSignature = this.signature()
    this.announceHealth()
    if (entry.source !== 'builtin') await entry.provider.stop()
  }

  private entry (name: string): Entry {
    const entry = this.entries.get(name)
    if (entry === undefined) throw new AgoraError('E711', `no provider named '${name}'`, { why: `known: ${[...this.entries.keys()].join(', ') || 'none'}` })
    return entry
  }

  private userSpecs (): ProviderSpec[] {
    return [...this.entries.values()].flatMap(e => e.source === 'user' && e.spec !== undefined ? [e.spec] : [])
  }

  private info (entry: Entry): ProviderInfo {
    const { provider, source, spec } = entry
    const info: ProviderInfo = { name: provider.id, kind: provider.kind, url: spec?.url ?? 'embedded', source, health: provider.health(), models: knownModels(provider) }
    if (spec?.apiKeyEnv !== undefined) info.apiKeyEnv = spec.apiKeyEnv
    return info
  }

  private signature (): string {
    return JSON.stringify([...this.entries.values()].map(e => [e.provider.id, e.provider.health().status, e.provider.models().map(m => m.name)]))
  }
}

function knownModels (provider: InferenceProvider): ModelCapability[] {
  return provider instanceof HttpProvider ? provider.knownModels() : provider.models()
}
