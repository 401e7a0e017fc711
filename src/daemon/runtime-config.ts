/**
 * The running node's config (GET and PATCH /api/v1/config): a change is
 * validated whole, written to the config file, and its hot keys applied at
 * once through the owning components; the rest wait for a restart. Every
 * change emits `config:changed`. Changes run one at a time.
 */
import { AgoraError, messageOf } from '../errors.ts'
import { HOT_KEYS, isHotKey, planConfigPatch, redactConfig, writeConfigChanges } from '../config/index.ts'
import type { AgoraConfig, ConfigChange, ConfigSource, HotKey } from '../config/index.ts'
import { getPath, setPath } from '../config/merge.ts'
import { configPrices } from '../offers/index.ts'
import { parseCredits } from '../market/amount.ts'
import type { ConfigPatchJson, ConfigViewJson } from '../client/config-schemas.ts'
import type { AgoraEvents } from '../events.ts'
import type { AccessControl } from '../gateway/access/index.ts'
import type { AgoraLogger } from '../observability/logger.ts'
import type { OfferService } from '../offers/index.ts'
import type { CapabilityRegistry, ProviderManager, WinkProvider } from '../providers/index.ts'

/** The jobs worker's run-time settings (jobs/assemble.ts). */
export interface JobsSettings {
  setSlots(slots: number): void
  setPricePerTask(microCredits: number): void
}

export interface RuntimeConfigComponents {
  events: AgoraEvents
  logger: AgoraLogger
  access: Pick<AccessControl, 'setTrustMode' | 'setLimits' | 'setLists' | 'settings'>
  offers: Pick<OfferService, 'setTrustMode' | 'setPrices'>
  capabilities: Pick<CapabilityRegistry, 'changed'>
  wink: Pick<WinkProvider, 'setSlots'>
  providers: Pick<ProviderManager, 'reconfigure'>
  jobs: JobsSettings
}

export interface RuntimeConfigInit {
  /** The config the node started with. */
  config: AgoraConfig
  /** The file it came from; changes are written there. None: hot keys only, for this run. */
  file?: string | undefined
  /** Where each value came from at start (env and flags beat the file at the next start). */
  sources?: Record<string, ConfigSource> | undefined
}

type Applier = (value: never, config: AgoraConfig) => Promise<void> | void

export class RuntimeConfig {
  private readonly c: RuntimeConfigComponents
  private readonly file: string | undefined
  private readonly sources: Record<string, ConfigSource>
  /** What the node runs with. */
  private running: AgoraConfig
  /** What the next start will read: running plus the changes waiting for a restart. */
  private desired: AgoraConfig
  private readonly pending = new Map<string, unknown>()
  private queue: Promise<unknown> = Promise.resolve()
  private readonly appliers: Record<HotKey, Applier>

  constructor (components: RuntimeConfigComponents, init: RuntimeConfigInit) {
    this.c = components
    this.file = init.file
    this.sources = init.sources ?? {}
    this.running = structuredClone(init.config)
    this.desired = structuredClone(init.config)
    this.appliers = appliersFor(components)
  }

  view (): ConfigViewJson {
    const running = { ...this.running, access: this.c.access.settings() }
    return {
      config: redactConfig(running),
      file: this.file ?? null,
      hot: { ...HOT_KEYS },
      pendingRestart: [...this.pending].map(([key, value]) => ({ key, value: redactConfig(value) }))
    }
  }

  /** Validate, write and apply a merge patch; one change at a time. */
  async patch (body: unknown): Promise<ConfigPatchJson> {
    const run = this.queue.then(async () => await this.apply(body))
    this.queue = run.catch(() => {})
    return await run
  }

  private async apply (body: unknown): Promise<ConfigPatchJson> {
    // POST /api/v1/access changes the trust mode too (in force, not written): access control is the truth for its section
    const plan = planConfigPatch({ ...this.desired, access: this.c.access.settings() }, body)
    const restart = plan.changes.filter(c => c.restart)
    if (this.file === undefined && restart.length > 0) {
      throw new AgoraError('E1333', `this node runs without a config file: ${restart.map(c => c.key).join(', ')} would be lost at the next start`, {
        why: 'these keys need a restart and there is no file to keep them in; nothing was changed',
        details: { restart: restart.map(c => c.key) }
      })
    }
    if (this.file !== undefined) writeConfigChanges(this.file, plan.changes)
    this.desired = plan.config
    const hot = plan.changes.filter(c => !c.restart)
    const appliedKeys: string[] = []
    const failed: string[] = []
    for (const change of hot) {
      try {
        if (isHotKey(change.key)) await this.appliers[change.key](change.after as never, plan.config)
        setPath(this.running as unknown as Record<string, unknown>, change.path, structuredClone(change.after))
        this.pending.delete(change.key)
        appliedKeys.push(change.key)
      } catch (err) {
        // written to the file: the next start uses it
        failed.push(`${change.key}: ${messageOf(err)}`)
        this.pending.set(change.key, change.after)
      }
    }
    for (const change of restart) {
      // back to the value it runs with: nothing waits for a restart any more
      if (JSON.stringify(change.after) === JSON.stringify(getPath(this.running, change.path))) this.pending.delete(change.key)
      else this.pending.set(change.key, change.after)
    }
    const restartKeys = plan.changes.map(c => c.key).filter(k => !appliedKeys.includes(k))
    if (plan.changes.length > 0) {
      this.c.events.emit('config:changed', { keys: plan.changes.map(c => c.key), applied: appliedKeys, restart: restartKeys })
      this.c.logger.forComponent('agora:config').info({ applied: appliedKeys, restart: restartKeys }, 'config changed at run time')
    }
    if (failed.length > 0) {
      throw new AgoraError('E1334', `could not apply ${failed.length === 1 ? 'a config change' : 'config changes'} now`, { why: failed.join('; '), details: { applied: appliedKeys, restart: restartKeys } })
    }
    return { ...this.view(), applied: appliedKeys, restart: restartKeys, changes: plan.changes.map(c => changeJson(c, appliedKeys)), persisted: this.file !== undefined, overridden: this.overridden(plan.changes) }
  }

  private overridden (changes: readonly ConfigChange[]): ConfigPatchJson['overridden'] {
    return changes.flatMap(c => {
      const source = this.sources[c.key]
      return source !== undefined && (source.source === 'env' || source.source === 'flag') ? [{ key: c.key, source: source.source, origin: source.origin ?? null }] : []
    })
  }
}

/** What applying each hot key does: the compiler checks that none is missing (HotKey comes from HOT_KEYS). */
function appliersFor (c: RuntimeConfigComponents): Record<HotKey, Applier> {
  const prices = (_: unknown, config: AgoraConfig): void => {
    c.offers.setPrices(configPrices(config.offers.prices))
    c.jobs.setPricePerTask(parseCredits(config.offers.prices.perTask, 'offers.prices.perTask'))
  }
  const limits = (_: unknown, config: AgoraConfig): void => { c.access.setLimits({ requestsPerMinute: config.access.requestsPerMinute, tokensPerMinute: config.access.tokensPerMinute }) }
  const lists = (_: unknown, config: AgoraConfig): void => { c.access.setLists({ allow: config.access.allowModels, deny: config.access.denyModels }) }
  return {
    'log.level': (level: AgoraConfig['log']['level']) => { c.logger.root.level = level },
    'access.trustMode': (mode: AgoraConfig['access']['trustMode']) => { c.access.setTrustMode(mode); c.offers.setTrustMode(mode) },
    'access.requestsPerMinute': limits,
    'access.tokensPerMinute': limits,
    'access.allowModels': lists,
    'access.denyModels': lists,
    'offers.prices.perTask': prices,
    'offers.prices.per1kPromptTokens': prices,
    'offers.prices.per1kCompletionTokens': prices,
    'jobs.slots': (slots: number) => { c.jobs.setSlots(slots) },
    'providers.wink.slots': (slots: number) => { c.wink.setSlots(slots); c.capabilities.changed() },
    'providers.discovery': async (discovery: boolean) => { await c.providers.reconfigure({ discovery }) },
    'providers.discoveryIntervalMs': async (ms: number) => { await c.providers.reconfigure({ discoveryIntervalMs: ms }) }
  }
}

function changeJson (change: ConfigChange, applied: readonly string[]): ConfigPatchJson['changes'][number] {
  return { key: change.key, before: redactConfig(change.before), after: redactConfig(change.after), applied: applied.includes(change.key) }
}
