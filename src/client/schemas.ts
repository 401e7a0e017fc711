/**
 * The control API's message shapes, one zod schema each: the server
 * validates with them and both sides take their TypeScript types from them,
 * so the two cannot drift. The CLI imports only the types (zod costs ~35 ms
 * of start-up, and `agora status` is measured against `node -e 0`).
 */
import { z } from 'zod'
import { MAX_BAN_DURATION_MS } from '../peers/constants.ts'
import { creditsInput, creditsWire } from '../market/amount.ts'
import { JOB_STATES, SUBTASK_STATES, jobConstraintsJsonSchema, jobInputSchema } from '../jobs/types.ts'
import type { RequestRecord } from '../gateway/index.ts'

export const statusDetail = z.object({
  /** Kademlia: off, or the mode (a server answers queries) and how many peers its routing table holds. */
  dht: z.object({ enabled: z.boolean(), mode: z.enum(['client', 'server']).nullable(), routingTableSize: z.number() }),
  /** Gossip topics this node subscribes to: peers subscribed, and those in its mesh (which relay to it). */
  topics: z.array(z.object({ topic: z.string(), subscribers: z.number(), meshPeers: z.number() })),
  connections: z.object({ open: z.number(), inbound: z.number(), outbound: z.number(), max: z.number(), streams: z.number() }),
  /** Counters since start, summed over their labels (prometheus names). */
  counters: z.record(z.string(), z.number())
})
export type StatusDetail = z.infer<typeof statusDetail>

export const statusResponse = z.object({
  peerId: z.string(),
  did: z.string(),
  name: z.string(),
  version: z.string(),
  pid: z.number(),
  dataDir: z.string(),
  apiUrl: z.string(),
  startedAt: z.number(),
  uptimeMs: z.number(),
  /** Full multiaddrs ending in /p2p/<peerId>. */
  addresses: z.array(z.string()),
  /** Connected peers (not connections: a peer may have several). */
  peers: z.number(),
  connections: z.number(),
  knownPeers: z.number(),
  /** With `?detailed=1` only: the network's inner state and counters. */
  detail: statusDetail.optional()
})
export type StatusResponse = z.infer<typeof statusResponse>

export const statusQuery = z.object({ detailed: z.enum(['0', '1', 'true', 'false']).transform(v => v === '1' || v === 'true').default(false) }).strict()

export const peerEntry = z.object({
  peerId: z.string(),
  addresses: z.array(z.string()),
  /** Latency EWMA of pings, null until the first ping. */
  latencyMs: z.number().nullable(),
  connected: z.boolean(),
  lastSeen: z.number().nullable(),
  /** 0..1, see docs/reputation.md; 0.5 for a stranger. */
  reputation: z.number(),
  /** Decayed fraction of pings answered, null before the first. */
  uptime: z.number().nullable(),
  successes: z.number(),
  failures: z.number(),
  timeouts: z.number(),
  trusted: z.boolean(),
  /** Ban expiry (ms since epoch), or null; a manual ban without expiry is Number.MAX_SAFE_INTEGER. */
  bannedUntil: z.number().nullable(),
  banReason: z.string().nullable()
})
export type PeerEntry = z.infer<typeof peerEntry>
export const peersResponse = z.array(peerEntry)

export const connectBody = z.object({ multiaddr: z.string().min(1).max(1024) }).strict()
export const connectResponse = z.object({ peerId: z.string(), addresses: z.array(z.string()) })
export const pingResponse = z.object({ peerId: z.string(), latencyMs: z.number() })
export const disconnectResponse = z.object({ peerId: z.string(), disconnected: z.boolean() })

export const identityResponse = z.object({
  peerId: z.string(),
  did: z.string(),
  /** Raw Ed25519 public key, base64. */
  publicKey: z.string()
})
export type IdentityResponse = z.infer<typeof identityResponse>

export const stopResponse = z.object({ stopping: z.boolean() })

/** An event as sent on the WebSocket stream. */
export const eventMessage = z.object({ type: z.string(), at: z.number(), data: z.unknown() })
export type EventMessage = z.infer<typeof eventMessage>

export const peerIdParam = z.object({ id: z.string().min(1).max(128) })

/** A number from the query string (or a number, client side): `?limit=` is an error, where coercion alone made it 0. */
export function queryNumber (schema: z.ZodNumber) {
  return z.preprocess((value, ctx) => {
    if (typeof value !== 'string') return value
    if (value.trim() !== '') return Number(value)
    ctx.addIssue({ code: 'custom', message: 'a number, not empty' })
    return z.NEVER
  }, schema)
}

/** Filters of GET /api/v1/offers (query string). */
export const offersQuery = z.object({
  model: z.string().min(1).max(256).optional(),
  taskType: z.string().min(1).max(128).optional(),
  /** Credits ("0.5"); micro-credits once parsed. */
  maxPrice: creditsInput.optional(),
  zone: z.string().min(1).max(64).optional()
}).strict()
/** As the server reads it (maxPrice in micro-credits). */
export type OffersQuery = z.infer<typeof offersQuery>
/** As a client sends it (maxPrice in credits). */
export type OffersQueryInput = z.input<typeof offersQuery>

export const offerIdParam = z.object({ id: z.string().min(1).max(256) })

export const banBody = z.object({
  reason: z.string().min(1).max(200).optional(),
  /** Omitted: banned until unbanned. */
  durationMs: z.number().int().positive().max(MAX_BAN_DURATION_MS, 'a ban with an expiry lasts at most 100 years; omit durationMs to ban until unbanned').optional()
}).strict()

export const withdrawResponse = z.object({ withdrawn: z.boolean(), offerId: z.string().nullable() })

/** One model as the network serves it (GET /api/v1/models). */
export const modelEntry = z.object({
  name: z.string(),
  kind: z.string(),
  /** Nodes whose valid offer lists the model. */
  nodes: z.number(),
  /** Lowest price among them, credits with six decimals: per 1k completion tokens for chat models, per 1k prompt tokens for embeddings. */
  bestPrice: creditsWire,
  /** Lowest latency EWMA among them (0 when this node serves it). */
  bestLatencyMs: z.number().nullable(),
  /** Peer ids serving it. */
  servedBy: z.array(z.string())
})
export type ModelEntry = z.infer<typeof modelEntry>
export const modelsResponse = z.array(modelEntry)

/** An API key for /v1 as listed (never the secret). */
export const apiKeyEntry = z.object({
  id: z.string(),
  name: z.string(),
  /** First characters of the key, for recognising it. */
  prefix: z.string(),
  createdAt: z.number(),
  lastUsedAt: z.number().nullable(),
  revokedAt: z.number().nullable()
})
export type ApiKeyEntry = z.infer<typeof apiKeyEntry>
export const apiKeysResponse = z.array(apiKeyEntry)

export const createKeyBody = z.object({ name: z.string().min(1).max(64).regex(/^[\w.@-]+$/, 'use letters, digits, `.`, `_`, `-` or `@`') }).strict()
/** The new key: `key` is the secret, shown this once. */
export const createdKeyResponse = z.object({ id: z.string(), name: z.string(), key: z.string() })
export type CreatedKeyResponse = z.infer<typeof createdKeyResponse>
/** A key by id, or an active key by name. */
export const keyIdParam = z.object({ id: z.string().min(1).max(64) })

/** Filters of GET /api/v1/requests. */
export const requestsQuery = z.object({
  limit: queryNumber(z.number().int().min(1).max(1000)).optional(),
  before: queryNumber(z.number().int().min(0)).optional(),
  model: z.string().min(1).max(256).optional(),
  outcome: z.enum(['ok', 'error', 'cancelled']).optional(),
  server: z.string().min(1).max(128).optional()
}).strict()
export type RequestsQuery = z.infer<typeof requestsQuery>
/** GET /api/v1/logs: the last `lines` records at `level` or above; `follow=1` keeps the response open. */
export const logsQuery = z.object({
  lines: queryNumber(z.number().int().min(0).max(10_000)).default(50),
  level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).optional(),
  follow: z.enum(['0', '1', 'true', 'false']).transform(v => v === '1' || v === 'true').default(false)
}).strict()
export interface LogsQuery { lines?: number, level?: z.infer<typeof logsQuery>['level'], follow?: boolean }
/** A metered request as the API answers it: the price in credits with six decimals. */
export type RequestRecordJson = Omit<RequestRecord, 'price'> & { price: string }
export const requestIdParam = z.object({ id: z.string().min(1).max(128) })

/** A provider the node can run inference on (GET /api/v1/providers). */
export const providerEntry = z.object({
  name: z.string(),
  kind: z.string(),
  url: z.string().nullable(),
  source: z.string(),
  health: z.object({ status: z.string(), lastError: z.string().optional(), checkedAt: z.number() }),
  models: z.array(z.string())
})
export type ProviderEntry = z.infer<typeof providerEntry>

export const addProviderBody = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'lower-case letters, digits, ".", "_" and "-", at most 63 characters'),
  kind: z.enum(['ollama', 'openai']),
  url: z.url({ protocol: /^https?$/ }),
  apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name such as OPENAI_API_KEY').optional()
}).strict()
export type AddProviderSpec = z.infer<typeof addProviderBody>
export const providerNameParam = z.object({ name: z.string().min(1).max(63) })

export const accessBody = z.object({ trustMode: z.enum(['private', 'friends', 'public']) }).strict()
export const accessResponse = z.object({ trustMode: z.enum(['private', 'friends', 'public']) })

// jobs (docs/jobs.md): the body of POST /api/v1/jobs is jobSpecSchema (src/jobs/types.ts)

/** Filters of GET /api/v1/jobs; `status` is accepted as another name for `state`. */
export const jobsQuery = z.object({
  state: z.enum(JOB_STATES).optional(),
  status: z.enum(JOB_STATES).optional(),
  limit: queryNumber(z.number().int().min(1).max(1000)).optional()
}).strict()
export type JobsQuery = z.infer<typeof jobsQuery>
export const jobIdParam = z.object({ id: z.string().min(1).max(128) })
/** GET /api/v1/jobs/:id?subtasks=false leaves the subtasks out. */
export const jobQuery = z.object({ subtasks: z.enum(['true', 'false']).optional() }).strict()

export const uploadBody = z.object({ size: z.number().int().nonnegative() }).strict()
export const uploadIdParam = z.object({ id: z.string().regex(/^[0-9a-f]{32}$/, 'an upload id is 32 hex digits') })
export const uploadChunkQuery = z.object({ offset: queryNumber(z.number().int().nonnegative()) }).strict()
/** Optional body of POST /api/v1/uploads/:id/complete: the sha256 the client computed, checked against the stored content. */
export const completeUploadBody = z.object({ sha256: z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 in hex').optional() }).strict()

const errorBodyResponse = z.object({ code: z.string(), message: z.string(), why: z.string().optional(), hint: z.string().optional(), details: z.record(z.string(), z.unknown()).optional() })

/** A job as the API answers it (the wire shape of `Job`). */
export const jobResponse = z.object({
  id: z.string(),
  type: z.string(),
  params: z.record(z.string(), z.unknown()),
  constraints: jobConstraintsJsonSchema,
  input: jobInputSchema,
  state: z.enum(JOB_STATES),
  progress: z.object({ total: z.number(), committed: z.number(), running: z.number(), failed: z.number() }),
  /** Credits with six decimals. */
  spent: creditsWire,
  createdAt: z.number(),
  updatedAt: z.number(),
  finishedAt: z.number().nullable(),
  error: errorBodyResponse.nullable(),
  hasResult: z.boolean(),
  /** While it runs: why its subtasks wait (workers refusing for their load). */
  waiting: z.string().optional()
})
export type JobJson = z.infer<typeof jobResponse>
export const jobsResponse = z.array(jobResponse)

/** A subtask as GET /api/v1/jobs/:id lists it (the wire shape of `Subtask`). */
export const subtaskResponse = z.object({
  jobId: z.string(),
  id: z.string(),
  type: z.string(),
  params: z.record(z.string(), z.unknown()),
  deps: z.array(z.string()),
  state: z.enum(SUBTASK_STATES),
  attempts: z.number(),
  worker: z.string().nullable(),
  excluded: z.array(z.string()),
  /** Credits with six decimals, once committed. */
  price: creditsWire.nullable(),
  error: errorBodyResponse.nullable(),
  createdAt: z.number(),
  assignedAt: z.number().nullable(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  resultHash: z.string().nullable(),
  /** How the result was checked (docs/verification.md); null when it was not. */
  verification: z.object({
    method: z.enum(['replicas', 'canary', 'quorum']),
    verdict: z.enum(['agreed', 'outvoted', 'inconclusive', 'unverified']),
    replicas: z.number(),
    agreeing: z.number(),
    outliers: z.array(z.string()),
    provisional: z.boolean()
  }).nullable()
})
export type SubtaskJson = z.infer<typeof subtaskResponse>
const verdictCounts = z.object({ agreed: z.number(), outvoted: z.number(), inconclusive: z.number(), unverified: z.number() })

/** How a job's results were checked: results checked, counts by verdict for replicas, canaries and verifier quorums, any provisional. */
export const verificationSummaryResponse = z.object({ checked: z.number(), replicas: verdictCounts, canaries: verdictCounts, quorum: verdictCounts, provisional: z.boolean() })
export type VerificationSummaryJson = z.infer<typeof verificationSummaryResponse>

/** GET /api/v1/jobs/:id: the job, how its results were checked, and every subtask. */
/** What the job's provisional results hold back of their pay: still held (settled from `nextDueAt` on), paid after the window, forfeited by a failed audit. */
export const heldBackResponse = z.object({ held: z.string(), paid: z.string(), forfeited: z.string(), nextDueAt: z.number().nullable() })
export type HeldBackJson = z.infer<typeof heldBackResponse>
export const jobDetailResponse = jobResponse.extend({ verification: verificationSummaryResponse, heldBack: heldBackResponse, subtasks: z.array(subtaskResponse) })
export type JobDetail = z.infer<typeof jobDetailResponse>

export const jobResultResponse = z.object({ jobId: z.string(), state: z.enum(JOB_STATES), partial: z.boolean(), result: z.unknown() })
export const jobTypesResponse = z.array(z.object({ type: z.string(), description: z.string(), taskTypes: z.array(z.string()), params: z.unknown() }))
export const uploadStatusResponse = z.object({ uploadId: z.string(), received: z.number() })
export const blobRefResponse = z.object({ hash: z.string(), size: z.number() })
