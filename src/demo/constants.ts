/** The demo swarm's shape, limits and sample inputs, in one place. */

export type DemoRole = 'gateway' | 'echo' | 'worker'

/**
 * The three nodes, in start order (the first is everyone's bootstrap peer):
 * the gateway the demo talks to (it chunks job input and embeds locally, and
 * runs no subtasks, so the job goes out to the network), a node with the
 * echo chat engine only, and a worker with the embedded engine.
 */
export const DEMO_NODES: ReadonlyArray<{ name: string, role: DemoRole, what: string }> = [
  { name: 'node-1', role: 'gateway', what: 'gateway: the demo talks to its API; embedded engine' },
  { name: 'node-2', role: 'echo', what: 'echo chat engine (agora/echo)' },
  { name: 'node-3', role: 'worker', what: 'embedded engine; runs job subtasks' }
]

export const DEMO_LIMITS = {
  /** One node may take this long to become ready. */
  startMs: 60_000,
  /** The nodes must see each other and each other's offers within this long. */
  meshMs: 45_000,
  /** The demo job must finish within this long. */
  jobMs: 90_000,
  /** A node asked to stop must exit within this long (then it is killed). */
  stopMs: 15_000,
  /** Polling interval of every wait. */
  pollMs: 200
} as const

export const DEMO_INPUTS = {
  chat: 'Hello, swarm! Who answers this?',
  embed: 'a quiet morning by the sea',
  /** A few short paragraphs: the job cuts them into chunks of `jobChunkChars` and embeds each on a worker. */
  job: [
    'Agora is a peer-to-peer network for sharing AI compute.',
    'Every node advertises a signed offer of what it serves, and offers spread by gossip.',
    'A job is split into subtasks that run on capable peers; the results are merged into one.',
    'This text was embedded, chunk by chunk, by a worker node of the demo swarm.'
  ].join(' '),
  jobChunkChars: 120
} as const
