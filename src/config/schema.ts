/**
 * The one configuration schema. Every value has a default and a description;
 * `agora config init` writes them out as a commented YAML file, and the
 * loader validates files, env overrides (`AGORA_<SECTION>_<KEY>`) and flags
 * against it. Keys are camelCase; nesting is at most three levels deep.
 */
import { z } from 'zod'
import { parseCredits } from '../market/amount.ts'

const multiaddrString = z.string().min(1).regex(/^\//, 'a multiaddr starts with "/", e.g. /ip4/127.0.0.1/tcp/41145')

export const nodeSchema = z.object({
  name: z.string().max(64).default('').describe('Human-readable node name shown to peers and on the dashboard (empty: derived from the peer id)'),
  zone: z.string().max(64).default('').describe('Zone or region label peers can route by, e.g. "eu-west" (empty: none)')
}).strict()

export const logSchema = z.object({
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info').describe('Log level: trace, debug, info, warn, error, fatal or silent'),
  format: z.enum(['auto', 'json', 'pretty']).default('auto').describe('Log lines as JSON (for machines and log files) or pretty (one readable line each); auto: pretty on a terminal, JSON otherwise'),
  color: z.boolean().default(true).describe('Colours in pretty log lines (off with --no-color or the NO_COLOR variable)'),
  safe: z.boolean().default(false).describe('Take every secret (API keys and token, private and swarm keys, invites) out of log lines, so a log can be shared in a bug report; `agora start --debug-safe` sets it, with log level debug')
}).strict()

export const apiSchema = z.object({
  host: z.string().default('127.0.0.1').describe('Address the HTTP API listens on; keep it on loopback unless a reverse proxy guards it'),
  port: z.number().int().min(0).max(65535).default(8145).describe('HTTP API port (0 = any free port)'),
  allowLocalWithoutKey: z.boolean().default(true).describe('Let loopback clients call /v1 without an API key')
}).strict()

export const dhtSchema = z.object({
  enabled: z.boolean().default(true).describe('Run the Kademlia DHT (peer routing, capability provider records)'),
  protocolPrefix: z.string().regex(/^\/[a-z0-9/_-]+$/).default('/agora').describe('DHT protocol prefix; never the public /ipfs one'),
  addressFilter: z.enum(['public', 'private', 'all']).default('all').describe('Which peer addresses the DHT keeps: public (internet), private (LAN and loopback) or all'),
  clientMode: z.boolean().default(false).describe('Query the DHT without serving records (for weak or short-lived nodes)')
}).strict()

export const peersSchema = z.object({
  target: z.number().int().min(0).max(1000).default(8).describe('Number of peers the peer manager keeps connected'),
  reconnectIntervalMs: z.number().int().min(1000).default(15000).describe('How often the peer manager checks the peer count and dials known peers'),
  pingIntervalMs: z.number().int().min(1000).default(30000).describe('How often connected peers are pinged to measure latency')
}).strict()

export const connectionsSchema = z.object({
  maxConnections: z.number().int().min(1).default(200).describe('Total open connections allowed'),
  maxIncomingPending: z.number().int().min(1).default(32).describe('Inbound connections allowed to be mid-handshake at once'),
  inboundThresholdPerHost: z.number().int().min(1).default(30).describe('Inbound connections per second accepted from one host'),
  dialTimeoutMs: z.number().int().min(100).default(10000).describe('Give up a dial (connect + handshake) after this long'),
  maxStreamsPerProtocol: z.number().int().min(1).default(64).describe('Concurrent inbound and outbound streams per connection for each of our protocols')
}).strict()

export const gossipSchema = z.object({
  publishPerSecond: z.number().int().min(1).default(50).describe('App-side cap on messages this node publishes per second (gossipsub has no backpressure)'),
  maxTopicsPerPeer: z.number().int().min(1).default(32).describe('Topic subscriptions accepted from one peer')
}).strict()

export const networkSchema = z.object({
  listen: z.array(multiaddrString).default(['/ip4/0.0.0.0/tcp/41145', '/ip4/0.0.0.0/tcp/41146/ws']).describe('Multiaddrs to listen on (TCP and WebSockets)'),
  announce: z.array(multiaddrString).default([]).describe('Addresses to announce instead of the listen addresses (e.g. a public IP)'),
  bootstrap: z.array(multiaddrString).default([]).describe('Peers to dial at start, as full multiaddrs ending in /p2p/<peerId>'),
  mdns: z.boolean().default(true).describe('Find peers on the local network by multicast DNS'),
  psk: z.string().default('').describe('Path to a libp2p swarm key file for a private network (empty: public network)'),
  relay: z.boolean().default(true).describe('Dial peers through circuit relay v2 and accept relayed connections (the transport)'),
  relayReservation: z.boolean().default(false).describe('Also hold a relay reservation (listen on /p2p-circuit) so peers can reach this node through a relay when it is behind NAT. Off by default: until it has a relay the node keeps walking the DHT for one, about 0.4 core per node in a network without relays; turn it on behind NAT in a network that has relay servers'),
  autonat: z.boolean().default(true).describe('Ask peers whether our addresses are publicly reachable'),
  dcutr: z.boolean().default(true).describe('Upgrade relayed connections to direct ones by hole punching'),
  dht: dhtSchema.default(dhtSchema.parse({})).describe('Kademlia DHT: peer routing and capability provider records'),
  peers: peersSchema.default(peersSchema.parse({})).describe('Peer manager: how many peers to keep and how often to check them'),
  connections: connectionsSchema.default(connectionsSchema.parse({})).describe('Connection and stream limits, set on purpose rather than left at libp2p defaults'),
  gossip: gossipSchema.default(gossipSchema.parse({})).describe('Gossipsub limits')
}).strict()

export const envelopeSchema = z.object({
  maxBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(256 * 1024).describe('Largest signed envelope accepted, in bytes'),
  maxAgeMs: z.number().int().min(1000).default(5 * 60 * 1000).describe('Oldest envelope accepted (longer than the 2-minute gossip dedup window plus clock skew)'),
  maxSkewMs: z.number().int().min(0).default(30 * 1000).describe('How far in the future an envelope timestamp may be (clock skew)')
}).strict()

export const reputationSchema = z.object({
  halfLifeMs: z.number().int().min(60_000).default(6 * 60 * 60 * 1000).describe('Half-life of past observations in the reputation score (old successes and failures count less)'),
  banThreshold: z.number().min(0).max(1).default(0.2).describe('A peer whose reputation falls below this is disconnected and refused for banDurationMs'),
  minObservations: z.number().int().min(1).default(8).describe('Observations needed before a peer can be banned for a low score'),
  banDurationMs: z.number().int().min(1000).default(10 * 60 * 1000).describe('Cool-down of an automatic ban'),
  trustedReconnectMinMs: z.number().int().min(100).default(1000).describe('First retry delay when a trusted peer disconnects (doubles up to the maximum)'),
  trustedReconnectMaxMs: z.number().int().min(1000).default(60_000).describe('Longest delay between reconnect attempts to a trusted peer')
}).strict().describe('Peer reputation: how observations become a 0..1 score, and when a peer is banned')

/** An amount of credits in a config file: a decimal (string or number) with at most six decimals; read with parseCredits. */
export const creditsConfig = z.union([z.string(), z.number()]).refine(value => {
  try {
    parseCredits(value)
    return true
  } catch {
    return false
  }
}, 'expected credits: a decimal number, not negative, with at most six decimals (e.g. 12.5)')

export const pricesSchema = z.object({
  perTask: creditsConfig.default('0').describe('Price of one task (job subtask), in credits'),
  per1kPromptTokens: creditsConfig.default('0').describe('Price of 1,000 prompt tokens, in credits'),
  per1kCompletionTokens: creditsConfig.default('0').describe('Price of 1,000 completion tokens, in credits')
}).strict().describe('What this node asks for its work')

export const offersSchema = z.object({
  ttlMs: z.number().int().min(5000).default(5 * 60 * 1000).describe('How long an offer is valid; peers drop it after this unless it is re-announced'),
  reannounceMs: z.number().int().min(1000).default(2 * 60 * 1000).describe('How often the local offer is re-announced (keep it well under ttlMs)'),
  syncIntervalMs: z.number().int().min(1000).default(30_000).describe('Anti-entropy: how often to reconcile the offer table with a random peer'),
  syncPageSize: z.number().int().min(1).max(1000).default(100).describe('Offers per page of an anti-entropy response'),
  maxOfferBytes: z.number().int().min(1024).max(1024 * 1024).default(64 * 1024).describe('Largest signed offer accepted, in bytes'),
  perOriginPerMinute: z.number().int().min(1).default(30).describe('Offer messages accepted per minute from one origin; more are dropped and count against it'),
  maxOffers: z.number().int().min(1).default(10_000).describe('Most offers held in the table (one per node); beyond it the oldest are dropped'),
  prices: pricesSchema.default(pricesSchema.parse({}))
}).strict().describe('Offers: what this node advertises and how it learns what others offer')

export const accessSchema = z.object({
  trustMode: z.enum(['private', 'friends', 'public']).default('friends').describe('Who may use this node\'s compute: private (only this node), friends (trusted peers) or public (any peer not banned)'),
  requestsPerMinute: z.number().int().min(1).default(120).describe('Requests per minute one peer may make of this node (token bucket)'),
  tokensPerMinute: z.number().int().min(1).default(200_000).describe('Prompt + completion tokens per minute one peer may use on this node (token bucket)'),
  allowModels: z.array(z.string().min(1)).default([]).describe('Models peers may use here (empty: every model this node serves)'),
  denyModels: z.array(z.string().min(1)).default([]).describe('Models peers may never use here (wins over allowModels)')
}).strict().describe('Access control on the serving side: who may spend this node\'s compute, how much, on which models')

export const gatewayTimeoutsSchema = z.object({
  dialMs: z.number().int().min(100).default(5000).describe('Give up reaching a peer for inference after this long'),
  firstTokenMs: z.number().int().min(100).default(60_000).describe('Give up a candidate that has not produced its first token after this long (then fail over)'),
  idleMs: z.number().int().min(100).default(30_000).describe('Give up a stream that goes silent between tokens for this long'),
  totalMs: z.number().int().min(1000).default(10 * 60_000).describe('Give up any request after this long')
}).strict().describe('Named timeouts of an inference request, each with its own error code')

export const gatewaySchema = z.object({
  strategy: z.enum(['local-only', 'prefer-local', 'load-balance']).default('prefer-local').describe('Routing: local-only, prefer-local (local providers first, then peers) or load-balance (best score wins)'),
  attempts: z.number().int().min(1).max(10).default(3).describe('Candidates tried before giving up, while no token has reached the client'),
  backoffMs: z.number().int().min(0).default(100).describe('First retry delay (doubles each attempt, with jitter)'),
  breakerFailures: z.number().int().min(1).default(5).describe('Consecutive failures that open the circuit breaker of a (peer, model) or a local provider'),
  breakerCooldownMs: z.number().int().min(100).default(30_000).describe('How long an open breaker waits before letting one probe request through'),
  timeouts: gatewayTimeoutsSchema.default(gatewayTimeoutsSchema.parse({}))
}).strict().describe('The inference gateway: routing, failover and timeouts')

export const winkSchema = z.object({
  enabled: z.boolean().default(true).describe('Serve the embedded wink-nlp engine: embeddings (agora/wink-embed-100d), chunking, sentiment and entities, with no download'),
  slots: z.number().int().min(1).max(64).default(2).describe('Calls the embedded engine advertises it can take at once (offer capacity)'),
  maxQueue: z.number().int().min(1).max(10_000).default(64).describe('Calls allowed to wait for the engine; more are refused with E701'),
  cacheDir: z.string().default('').describe('Folder for the compact embeddings file, converted once from the package on first use (empty: <data-dir>/models)')
}).strict().describe('The embedded NLP engine (wink-nlp with English model and 100-d word embeddings)')

export const echoSchema = z.object({
  enabled: z.boolean().default(false).describe('Serve the built-in echo chat engine: the chat model agora/echo answers with the last user message, labelled as an echo (for trying a swarm with no model installed; `agora demo` turns it on)')
}).strict().describe('The built-in echo chat engine (no model, no download)')

export const providersSchema = z.object({
  discovery: z.boolean().default(true).describe('Probe the usual local ports for engines (Ollama 11434, LM Studio 1234, llama.cpp 8080) at start and every discoveryIntervalMs'),
  discoveryIntervalMs: z.number().int().min(1000).default(60_000).describe('How often discovery and health checks run'),
  modelsTtlMs: z.number().int().min(1000).default(60_000).describe('How long a provider\'s model list is cached'),
  wink: winkSchema.default(winkSchema.parse({})),
  echo: echoSchema.default(echoSchema.parse({}))
}).strict().describe('Inference providers: the engines this node serves from')

export const jobsTimeoutsSchema = z.object({
  acceptMs: z.number().int().min(100).default(5000).describe('A worker must accept or refuse an offered subtask within this long (else the next candidate gets it)'),
  firstProgressMs: z.number().int().min(100).default(30_000).describe('An accepted subtask must report progress or finish within this long'),
  totalMs: z.number().int().min(1000).default(10 * 60_000).describe('Give up one attempt of a subtask after this long')
}).strict().describe('Named timeouts of a dispatched subtask, each with its own error code')

export const jobsSchema = z.object({
  slots: z.number().int().min(0).max(1024).default(4).describe('Subtasks this node runs at once for the network (0: run none; offer capacity)'),
  maxCpuLoad: z.number().min(0).default(0.9).describe('Refuse subtasks while the 1-minute load average per core is above this (0: no limit)'),
  minFreeMemoryMb: z.number().int().min(0).default(256).describe('Refuse subtasks while free memory is below this many MiB (0: no limit)'),
  concurrency: z.number().int().min(1).max(4096).default(64).describe('Subtasks of one job this node dispatches at once (independent subtasks run in parallel up to this)'),
  maxAttempts: z.number().int().min(1).max(20).default(4).describe('Attempts per subtask (each on another candidate when possible) before the subtask fails for good'),
  noWorkerTimeoutMs: z.number().int().min(1000).default(120_000).describe('A job whose workers all refuse for their load (slots, CPU, memory, credit), with nothing running, fails with E1020 naming the refusals after this long'),
  maxInlineInputBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024).describe('Largest input a job may carry inline; larger inputs are uploaded as a file (agora jobs submit --file)'),
  maxUploadBytes: z.number().int().min(1024).default(256 * 1024 * 1024).describe('Largest file one job input upload may be'),
  resultFetchBudgetBytes: z.number().int().min(1024 * 1024).default(256 * 1024 * 1024).describe('Bytes of large results (sent by reference) this node fetches from workers at once, across all its jobs; further fetches wait for room. Results are held whole until checked: at least three times this in memory at the peak'),
  exploration: z.number().min(0).max(1).default(0.3).describe('Weight of the Thompson-sampling draw against the deterministic score when choosing a worker (0: always the best score)'),
  debugTasks: z.boolean().default(false).describe('Run and advertise the debug.noop and debug.sleep task types (tests and benchmarks)'),
  timeouts: jobsTimeoutsSchema.default(jobsTimeoutsSchema.parse({}))
}).strict().describe('Jobs: running subtasks for the network (worker side) and splitting, routing and aggregating our own jobs (coordinator side)')

export const marketSchema = z.object({
  initialCredits: creditsConfig.default('1000').describe('Credits a new wallet starts with (the grant), as a decimal with at most six decimals'),
  creditLimit: creditsConfig.default('100').describe('Credits a peer may owe this node (net, unpaid work included) before this node stops serving it; per-peer overrides: agora wallet limits'),
  trustedCreditLimit: creditsConfig.default('1000').describe('The credit limit of trusted peers (unless overridden per peer)'),
  acceptMode: z.enum(['auto', 'manual']).default('auto').describe('Direct requests against this node\'s offer: auto (accepted within capacity, price and credit limit) or manual (queued for agora market accept|reject)'),
  requestTtlMs: z.number().int().min(1000).default(10 * 60_000).describe('How long a direct request (and the contract it makes) stays valid when the buyer does not say'),
  maxPending: z.number().int().min(1).max(10_000).default(100).describe('Requests waiting for the operator at most (manual mode); more are rejected (capacity)'),
  paymentEveryReceipts: z.number().int().min(1).default(16).describe('Send a payee a new payment proof after this many captured receipts …'),
  paymentEveryMs: z.number().int().min(100).default(5000).describe('… or after this long, whichever comes first'),
  auctionWindowMs: z.number().int().min(100).max(10 * 60_000).default(3000).describe('How long a job bought by auction (constraints.auction, `agora jobs submit --auction`) takes proposals before the best becomes its contract'),
  gatewayHoldTokens: z.number().int().min(1).default(4096).describe('Tokens a gateway request to a paid peer holds for when it sets no max_tokens (the hold is settled to the actual usage)')
}).strict().describe('The market: the wallet (micro-credit ledger), credit limits, direct requests and payments between peers')

export const verifySchema = z.object({
  verifies: z.array(z.string().min(1).max(64)).max(64).default([]).describe('Task types this node verifies (attests replicas of); it is then counted as an active verifier by every node that sees its offer'),
  kTarget: z.number().int().min(1).max(50).default(5).describe('Largest quorum: K = min(kTarget, floor(active verifiers × alpha)), at least 1'),
  alpha: z.number().gt(0).max(1).default(0.3).describe('Share of the active verifiers a quorum may take'),
  bootstrapMinVerifiers: z.number().int().min(1).default(10).describe('Bootstrap mode (K = 1, decisions provisional) while fewer verifiers than this are active…'),
  bootstrapStableMs: z.number().int().min(0).default(24 * 60 * 60_000).describe('… and until the count has held for this long'),
  quorumReruns: z.number().int().min(1).max(50).default(1).describe('Verifiers of a quorum check that re-run the subtask themselves (at most K); the others compare with the first re-run. 1 costs one replica per check; more close the gap a lazy or colluding re-runner leaves (copying the result it checks), at that many times the work'),
  revealAfterMs: z.number().int().min(10).default(2000).describe('A verifier reveals its attestation once K commitments are seen, or after this long'),
  redundancy: z.record(z.string().min(1).max(64), z.number().int().min(1).max(16)).default({}).describe('Workers per subtask by task type when a job asks for fewer, e.g. {"text.entities": 2}: each result is compared with the replicas\' (docs/verification.md)'),
  adaptive: z.boolean().default(false).describe('Cross-check results of jobs that ask for no redundancy with one replica each: every result of a worker not yet trusted for the task type, then a sample (adaptive replication)'),
  canaryRate: z.number().min(0).max(1).default(0.02).describe('Share of results this node, as a coordinator, also computes itself and compares (canaries; only for task types it can run; its own work costs nothing)'),
  trustAfter: z.number().int().min(1).max(1000).default(10).describe('Consecutive cross-checked valid results before a worker is trusted for a task type'),
  pMin: z.number().gt(0).max(1).default(0.05).describe('A trusted worker\'s result is cross-checked with probability max(pMin, 1/n), n its valid streak'),
  finalizeAfterMs: z.number().int().min(0).max(7 * 24 * 60 * 60_000).default(10 * 60_000).describe('A decision that holds pay is finalized (its pay captured, FINALIZE gossiped) once it has stood this long; a later decision before then orphans it and refunds the pay'),
  holdback: z.number().min(0).max(1).default(0.2).describe('Share of a provisional result\'s pay (bootstrap mode) held back through its audit window; 0 pays it all at once'),
  auditWindowMs: z.number().int().min(0).max(7 * 24 * 60 * 60_000).default(10 * 60_000).describe('How long a provisional result\'s held-back pay waits; then it is paid, or — for the share audited (auditRate) whose re-run disagrees — refunded with the worker\'s other held-back pay'),
  auditRate: z.number().min(0).max(1).default(0.1).describe('Share of provisional results this node re-runs itself (its own worker, free) at the end of their audit window'),
  decideBackend: z.enum(['quorum', 'etcd']).default('quorum').describe('Where decisions are made atomic: quorum (no extra service) or etcd (a compare-and-set per thread, for a group of coordinators that runs etcd)'),
  etcd: z.object({
    endpoints: z.array(z.string().url()).max(16).default([]).describe('etcd client URLs, e.g. http://127.0.0.1:2379 (decideBackend etcd)'),
    prefix: z.string().min(1).max(128).default('/agora/decide').describe('Key prefix of this network\'s decisions in etcd')
  }).strict().default({ endpoints: [], prefix: '/agora/decide' })
}).strict().superRefine((v, ctx) => {
  if (v.decideBackend === 'etcd' && v.etcd.endpoints.length === 0) ctx.addIssue({ code: 'custom', path: ['etcd', 'endpoints'], message: 'decideBackend etcd needs at least one endpoint' })
}).describe('Verification: attestations and decisions over gossip, the quorum and its bootstrap mode, the decide backend (docs/verification.md)')

export const packagesSchema = z.object({
  enabled: z.boolean().default(true).describe('Run the package room: Helia (IPFS) blocks on disk, bitswap, the package index, /agora/search/1 and the /ipfs/ gateway'),
  maxPackageBytes: z.number().int().min(1).default(64 * 1024 ** 3).describe('Largest package (all its files) this node publishes or installs, in bytes'),
  maxManifestBytes: z.number().int().min(1024).max(4 * 1024 * 1024).default(256 * 1024).describe('Largest manifest (DAG-CBOR) accepted from a peer or a publisher, in bytes'),
  maxFiles: z.number().int().min(1).max(100_000).default(10_000).describe('Most files one package may list'),
  cacheBytes: z.number().int().min(0).default(20 * 1024 ** 3).describe('Size limit of installed packages that are not pinned; the least recently used are collected past it'),
  minPublisherReputation: z.number().min(0).max(1).default(0.5).describe('Install refuses a package whose publisher\'s reputation is below this, unless --trust-publisher'),
  searchTimeoutMs: z.number().int().min(100).max(60_000).default(3000).describe('How long a search waits for peers\' answers over /agora/search/1'),
  searchFanout: z.number().int().min(0).max(64).default(8).describe('Peers a search asks at once (0: local index only)'),
  searchPerPeerPerMinute: z.number().int().min(1).default(60).describe('/agora/search/1 queries served per peer per minute; more are refused'),
  announcePerPublisherPerMinute: z.number().int().min(1).default(30).describe('PACKAGE announcements accepted per publisher per minute; more are dropped and counted against the sender'),
  catalogMaxBytes: z.number().int().min(1024 * 1024).default(1024 ** 3).describe('Most bytes of manifests the catalogue holds; past it, packages from peers are refused (E1417) — a flood of packages signed by throw-away keys cannot fill the disk'),
  catalogBytesPerPeerPerHour: z.number().int().min(64 * 1024).default(64 * 1024 ** 2).describe('Bytes of new manifests taken from one peer (gossip or sync) per hour; more are dropped (E1416) and come again by anti-entropy later'),
  wantsPerPeer: z.number().int().min(1).default(1024).describe('Blocks a peer may have asked of us at once over /agora/blocks/1 (E1453 past it); asking for blocks we do not hold costs the asker reputation. Bitswap keeps its own per-peer wantlist bound (1024)'),
  provide: z.boolean().default(true).describe('Provide every CID this node holds on the DHT (network.dht.enabled)'),
  gateway: z.boolean().default(true).describe('Serve the IPFS trustless gateway GET /ipfs/<cid> (format=raw|car) on the HTTP port')
}).strict().describe('Packages: publish, search and install signed, content-addressed packages over IPFS (docs/packages.md)')

export const configSchema = z.object({
  // the file's format version (config/version.ts); absent in files written before it existed, which read as 1
  version: z.number().int().min(1).default(1).describe('Format version of this file; `agora config migrate` brings an older file up to date'),
  node: nodeSchema.default(nodeSchema.parse({})).describe('This node as peers and the dashboard see it'),
  log: logSchema.default(logSchema.parse({})).describe('Logging (structured JSON lines)'),
  api: apiSchema.default(apiSchema.parse({})).describe('The HTTP server: OpenAI-compatible /v1, control API /api/v1, /metrics and the dashboard'),
  network: networkSchema.default(networkSchema.parse({})).describe('Peer-to-peer networking (libp2p): transports, discovery, NAT traversal and limits'),
  envelope: envelopeSchema.default(envelopeSchema.parse({})).describe('Signed envelopes: size and age limits for every application message'),
  reputation: reputationSchema.default(reputationSchema.parse({})),
  offers: offersSchema.default(offersSchema.parse({})),
  access: accessSchema.default(accessSchema.parse({})),
  providers: providersSchema.default(providersSchema.parse({})),
  gateway: gatewaySchema.default(gatewaySchema.parse({})),
  jobs: jobsSchema.default(jobsSchema.parse({})),
  market: marketSchema.default(marketSchema.parse({})),
  verify: verifySchema.default(verifySchema.parse({})),
  packages: packagesSchema.default(packagesSchema.parse({}))
}).strict()

export type AgoraConfig = z.infer<typeof configSchema>

/** The defaults, as one plain object. */
export function defaultConfig (): AgoraConfig {
  return configSchema.parse({})
}
