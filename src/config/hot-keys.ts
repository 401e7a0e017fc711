/**
 * Which config keys a running node applies at once (PATCH /api/v1/config)
 * and which wait for a restart. A key is hot only when the component that
 * reads it has a way to take a new value (daemon/runtime-config.ts wires
 * each one); every other key is written to the file and used at the next
 * start.
 */

/** Keys applied without a restart, each with what applying it does. */
export const HOT_KEYS = {
  'log.level': 'the logger\'s level, for every component at once',
  'access.trustMode': 'access control at once; the offer is re-announced with it',
  'access.requestsPerMinute': 'per-peer request limits (every peer starts again with a full budget)',
  'access.tokensPerMinute': 'per-peer token limits (every peer starts again with a full budget)',
  'access.allowModels': 'the models peers may use here',
  'access.denyModels': 'the models peers may never use here',
  'offers.prices.perTask': 'the price of subtasks taken from now on; the offer is re-announced',
  'offers.prices.per1kPromptTokens': 'the offer is re-announced; requests priced by it from then on',
  'offers.prices.per1kCompletionTokens': 'the offer is re-announced; requests priced by it from then on',
  'jobs.slots': 'the worker\'s slots and the offer\'s capacity (re-announced); from or to 0 needs a restart (the task protocol is served or not)',
  'providers.wink.slots': 'the embedded engine\'s advertised capacity (re-announced)',
  'providers.discovery': 'engine discovery on the usual local ports: turned on (a round runs now) or off (discovered engines are dropped)',
  'providers.discoveryIntervalMs': 'how often discovery and health checks run, from the next round on'
} as const satisfies Record<string, string>

export type HotKey = keyof typeof HOT_KEYS

export function isHotKey (key: string): key is HotKey {
  return Object.hasOwn(HOT_KEYS, key)
}

/** Whether changing `key` from `before` to `after` needs a restart. */
export function needsRestart (key: string, before: unknown, after: unknown): boolean {
  if (!isHotKey(key)) return true
  // a worker with no slots does not serve /agora/task/1 at all: starting or stopping that is a restart
  if (key === 'jobs.slots') return (before === 0) !== (after === 0)
  return false
}
