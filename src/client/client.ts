/**
 * The typed control-API client, used by the CLI (and later the dashboard).
 * It finds a running node through `<data-dir>/api.json` and `api.token`,
 * and turns error bodies back into AgoraErrors. Uses node:http rather than
 * fetch: it loads faster, and `agora status` is measured against `node -e 0`.
 */
import { createRequire } from 'node:module'
import type * as Http from 'node:http'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { AgoraError, errorFromBody, messageOf, type ErrorBody } from '../errors.ts'
import { ROUTES, type Route, type RouteBody, type RouteResponse } from './routes.ts'
import type { StatusResponse, PeerEntry, IdentityResponse, OffersQueryInput, ModelEntry, ApiKeyEntry, CreatedKeyResponse, RequestsQuery, ProviderEntry, RequestRecordJson, JobJson } from './schemas.ts'
import type { Offer } from '../offers/index.ts'
import type { JobSpecInput } from '../jobs/types.ts'
import type { BlobRef, JobResult, JobTypeInfo, UploadStatus } from '../jobs/api-types.ts'
import type { JobDetail, JobsQuery, LogsQuery } from './schemas.ts'
import type { UploadFileOptions } from './upload.ts'
import type * as M from './market-schemas.ts'
import type * as N from './needs-schemas.ts'
import type { VerifyStatusJson } from './verify-schemas.ts'
import type { CreateInviteBody, InviteJson } from './invite-schemas.ts'
import type { ConfigPatchBody, ConfigPatchJson, ConfigViewJson } from './config-schemas.ts'
import type * as P from './packages-schemas.ts'

// Required, not imported: the ESM facade of node:http touches its lazy
// getters and so loads undici (~12 ms), and `agora status` must start fast.
const { request: httpRequest } = createRequire(import.meta.url)('node:http') as typeof Http

export interface ApiInfo {
  url: string
  pid: number
  peerId: string
}

export const API_INFO_FILE = 'api.json'
export const API_TOKEN_FILE = 'api.token'

export interface ClientInit {
  url: string
  token?: string
  /** Give up on a request after this long (ms). */
  timeoutMs?: number
}

export class ControlClient {
  readonly url: string
  private readonly token: string | undefined
  private readonly timeoutMs: number

  constructor (init: ClientInit) {
    this.url = init.url.replace(/\/$/, '')
    this.token = init.token
    this.timeoutMs = init.timeoutMs ?? 30_000
  }

  status (opts: { detailed?: boolean } = {}): Promise<StatusResponse> { return this.call(ROUTES.status, opts.detailed === true ? { query: { detailed: 1 } } : {}) }
  peers (): Promise<PeerEntry[]> { return this.call(ROUTES.peers) }
  identity (): Promise<IdentityResponse> { return this.call(ROUTES.identity) }
  connect (multiaddr: string): Promise<RouteResponse<typeof ROUTES.connect>> { return this.call(ROUTES.connect, { body: { multiaddr } }) }
  disconnect (peerId: string): Promise<RouteResponse<typeof ROUTES.disconnect>> { return this.call(ROUTES.disconnect, { params: { id: peerId } }) }
  removePeer (peerId: string): Promise<RouteResponse<typeof ROUTES.removePeer>> { return this.call(ROUTES.removePeer, { params: { id: peerId } }) }
  ping (peerId: string): Promise<RouteResponse<typeof ROUTES.ping>> { return this.call(ROUTES.ping, { params: { id: peerId } }) }
  stop (): Promise<RouteResponse<typeof ROUTES.stop>> { return this.call(ROUTES.stop) }
  trust (peerId: string): Promise<PeerEntry> { return this.call(ROUTES.trust, { params: { id: peerId } }) }
  untrust (peerId: string): Promise<PeerEntry> { return this.call(ROUTES.untrust, { params: { id: peerId } }) }
  ban (peerId: string, body: RouteBody<typeof ROUTES.ban> = {}): Promise<PeerEntry> { return this.call(ROUTES.ban, { params: { id: peerId }, body }) }
  unban (peerId: string): Promise<PeerEntry> { return this.call(ROUTES.unban, { params: { id: peerId } }) }
  offers (query: OffersQueryInput = {}): Promise<Offer[]> { return this.call(ROUTES.offers, { query }) }
  localOffer (): Promise<Offer> { return this.call(ROUTES.localOffer) }
  offer (id: string): Promise<Offer> { return this.call(ROUTES.offer, { params: { id } }) }
  withdraw (): Promise<RouteResponse<typeof ROUTES.withdraw>> { return this.call(ROUTES.withdraw) }
  announce (): Promise<Offer> { return this.call(ROUTES.announce) }
  models (): Promise<ModelEntry[]> { return this.call(ROUTES.models) }
  requests (query: RequestsQuery = {}): Promise<RequestRecordJson[]> { return this.call(ROUTES.requests, { query }) }
  request (id: string): Promise<RequestRecordJson> { return this.call(ROUTES.request, { params: { id } }) }
  providers (): Promise<ProviderEntry[]> { return this.call(ROUTES.providers) }
  addProvider (body: RouteBody<typeof ROUTES.addProvider>): Promise<ProviderEntry> { return this.call(ROUTES.addProvider, { body }) }
  removeProvider (name: string): Promise<{ removed: boolean }> { return this.call(ROUTES.removeProvider, { params: { name } }) }
  testProvider (name: string): Promise<ProviderEntry> { return this.call(ROUTES.testProvider, { params: { name } }) }
  access (): Promise<RouteResponse<typeof ROUTES.access>> { return this.call(ROUTES.access) }
  setTrustMode (trustMode: RouteBody<typeof ROUTES.setAccess>['trustMode']): Promise<RouteResponse<typeof ROUTES.setAccess>> { return this.call(ROUTES.setAccess, { body: { trustMode } }) }
  keys (): Promise<ApiKeyEntry[]> { return this.call(ROUTES.keys) }
  createKey (name: string): Promise<CreatedKeyResponse> { return this.call(ROUTES.createKey, { body: { name } }) }
  revokeKey (idOrName: string): Promise<ApiKeyEntry> { return this.call(ROUTES.revokeKey, { params: { id: idOrName } }) }
  jobs (query: JobsQuery = {}): Promise<JobJson[]> { return this.call(ROUTES.jobs, { query }) }
  submitJob (spec: JobSpecInput): Promise<JobJson> { return this.call(ROUTES.submitJob, { body: spec }) }
  job (id: string): Promise<JobDetail> { return this.call(ROUTES.job, { params: { id } }) }
  /** The job without its subtasks (for polling). */
  jobSummary (id: string): Promise<JobJson> { return this.call(ROUTES.jobSummary, { params: { id }, query: { subtasks: 'false' } }) }
  jobResult (id: string): Promise<JobResult> { return this.call(ROUTES.jobResult, { params: { id } }) }
  cancelJob (id: string): Promise<JobJson> { return this.call(ROUTES.cancelJob, { params: { id } }) }
  jobTypes (): Promise<JobTypeInfo[]> { return this.call(ROUTES.jobTypes) }
  beginUpload (size: number): Promise<UploadStatus> { return this.call(ROUTES.beginUpload, { body: { size } }) }
  appendUpload (uploadId: string, offset: number, chunk: Uint8Array): Promise<UploadStatus> { return this.call(ROUTES.appendUpload, { params: { id: uploadId }, query: { offset }, raw: chunk }) }
  /** With `sha256`, the node refuses (E1062) content that hashes otherwise. */
  completeUpload (uploadId: string, sha256?: string): Promise<BlobRef> { return this.call(ROUTES.completeUpload, { params: { id: uploadId }, body: sha256 === undefined ? {} : { sha256 } }) }
  /** Upload a file in chunks as a blob; its hash is checked end to end (E1062 when it arrives damaged or changes meanwhile). */
  verifyStatus (): Promise<VerifyStatusJson> { return this.call(ROUTES.verifyStatus) }
  /** A one-line invite signed by the node (docs/api.md, "Invites"). */
  createInvite (body: CreateInviteBody = {}): Promise<InviteJson> { return this.call(ROUTES.createInvite, { body }) }
  config (): Promise<ConfigViewJson> { return this.call(ROUTES.config) }
  patchConfig (patch: ConfigPatchBody): Promise<ConfigPatchJson> { return this.call(ROUTES.patchConfig, { body: patch }) }
  wallet (): Promise<M.WalletJson> { return this.call(ROUTES.wallet) }
  walletHistory (query: M.HistoryQuery = {}): Promise<M.WalletEntryJson[]> { return this.call(ROUTES.walletHistory, { query: query as Record<string, string | number | undefined> }) }
  reconcile (peer: string): Promise<M.ReconcileJson> { return this.call(ROUTES.reconcile, { params: { peer } }) }
  limits (): Promise<M.PeerBalanceJson[]> { return this.call(ROUTES.limits) }
  setLimit (peer: string, limit: string | null): Promise<M.PeerBalanceJson> { return this.call(ROUTES.setLimit, { params: { peer }, body: { limit } }) }
  contracts (query: M.ContractsQuery = {}): Promise<M.ContractJson[]> { return this.call(ROUTES.contracts, { query: query as Record<string, string | number | undefined> }) }
  contract (id: string): Promise<M.ContractJson> { return this.call(ROUTES.contract, { params: { id } }) }
  pending (): Promise<M.ContractJson[]> { return this.call(ROUTES.pending) }
  /** Waits for the seller's answer (in manual mode, the operator's: up to the request's expiry). */
  marketRequest (body: M.MarketRequestBody): Promise<M.ContractJson> { return this.call(ROUTES.marketRequest, { body }) }
  acceptContract (id: string): Promise<M.ContractJson> { return this.call(ROUTES.acceptContract, { params: { id } }) }
  rejectContract (id: string, reason?: M.RejectBodyInput['reason']): Promise<M.ContractJson> { return this.call(ROUTES.rejectContract, { params: { id }, body: reason === undefined ? {} : { reason } }) }
  cancelContract (id: string): Promise<M.ContractJson> { return this.call(ROUTES.cancelContract, { params: { id } }) }
  needs (query: { state?: string, limit?: number } = {}): Promise<N.NeedJson[]> { return this.call(ROUTES.needs, { query }) }
  need (id: string): Promise<N.NeedViewJson> { return this.call(ROUTES.need, { params: { id } }) }
  createNeed (body: N.NeedBody): Promise<N.NeedJson> { return this.call(ROUTES.createNeed, { body }) }
  /** Waits until the decision is a contract (the winner's ACCEPT), or E1134. */
  decideNeed (id: string, seller?: string): Promise<N.NeedJson> { return this.call(ROUTES.decideNeed, { params: { id }, body: seller === undefined ? {} : { seller } }) }
  cancelNeed (id: string): Promise<N.NeedJson> { return this.call(ROUTES.cancelNeed, { params: { id } }) }
  packageSearch (query: P.SearchQueryInput): Promise<P.SearchResult> { return this.call(ROUTES.packageSearch, { query: query as Record<string, string | number | undefined> }) }
  packageInfo (spec: string): Promise<P.PackageInfo> { return this.call(ROUTES.packageInfo, { query: { spec } }) }
  packages (): Promise<P.InstalledPackage[]> { return this.call(ROUTES.packages) }
  removePackage (spec: string): Promise<P.InstalledPackage> { return this.call(ROUTES.removePackage, { query: { spec } }) }
  pinPackage (spec: string, pinned: boolean): Promise<P.InstalledPackage> { return this.call(pinned ? ROUTES.pinPackage : ROUTES.unpinPackage, { body: { spec } }) }
  verifyPackages (spec?: string): Promise<P.VerifyReport[]> { return this.call(ROUTES.verifyPackages, { body: spec === undefined ? {} : { spec } }) }
  gcPackages (): Promise<P.GcResult> { return this.call(ROUTES.gcPackages) }
  exportPackage (body: P.ExportBody): Promise<P.ExportJson> { return this.call(ROUTES.exportPackage, { body }) }
  importPackage (body: P.ImportBody): Promise<P.ImportJson> { return this.call(ROUTES.importPackage, { body }) }
  /** With `onProgress`, the work's progress streams (server-sent events) until the result. */
  async installPackage (body: P.InstallBody, opts: P.StreamOptions = {}): Promise<P.InstalledPackage> { return await this.streamed(ROUTES.installPackage, body, opts) }
  async publishPackage (body: P.PublishBody, opts: P.StreamOptions = {}): Promise<P.PublishResult> { return await this.streamed(ROUTES.publishPackage, body, opts) }
  async uploadFile (path: string, opts: UploadFileOptions = {}): Promise<BlobRef> {
    const { uploadFile } = await import('./upload.ts') // loaded on first use: most commands never upload
    return await uploadFile(this, path, opts)
  }

  /**
   * The node's recent log lines (JSON text each), then with `follow` every new
   * one as it comes; resolves when the node ends the response or `signal` aborts.
   */
  async logs (query: LogsQuery, onLine: (line: string) => void, signal?: AbortSignal): Promise<void> {
    const search = new URLSearchParams(Object.entries(query).filter(e => e[1] !== undefined).map(([k, v]): [string, string] => [k, String(v)]))
    const path = `${ROUTES.logs.path}?${search.toString()}`
    const headers: Record<string, string> = this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }
    await new Promise<void>((resolve, reject) => {
      // a followed log may be quiet for hours: no idle timeout then
      const req = httpRequest(this.url + path, { headers, timeout: query.follow === true ? 0 : this.timeoutMs, signal }, res => {
        let rest = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          if ((res.statusCode ?? 0) >= 400) { rest += chunk; return }
          const lines = (rest + chunk).split('\n')
          rest = lines.pop() ?? ''
          for (const line of lines) if (line !== '') onLine(line)
        })
        res.on('end', () => {
          if ((res.statusCode ?? 0) < 400) { resolve(); return }
          let error: ErrorBody | undefined
          try { error = (JSON.parse(rest) as { error?: ErrorBody }).error } catch { /* not our error shape */ }
          reject(error === undefined ? new AgoraError('E599', `the node answered GET ${ROUTES.logs.path} with HTTP ${res.statusCode ?? 0}`) : errorFromBody(error))
        })
        res.on('error', err => { if (signal?.aborted === true) resolve(); else reject(err) })
      })
      req.on('timeout', () => { req.destroy(new AgoraError('E204', `the node at ${this.url} did not answer GET ${ROUTES.logs.path} within ${this.timeoutMs} ms`)) })
      req.on('error', err => {
        if (signal?.aborted === true) { resolve(); return }
        reject(err instanceof AgoraError ? err : new AgoraError('E601', `cannot reach the node at ${this.url}`, { why: messageOf(err), cause: err }))
      })
      req.end()
    })
  }

  /** A POST whose progress streams when asked for (`onProgress`); else a plain call. */
  private async streamed<Res, Body> (route: Route<Res, Body>, body: Body, opts: P.StreamOptions): Promise<Res> {
    if (opts.onProgress === undefined) return await this.call(route, { body })
    const { postWithProgress } = await import('./progress-stream.ts') // loaded on first use
    return await postWithProgress<Res>(route.path, body, { url: this.url, token: this.token, idleTimeoutMs: opts.idleTimeoutMs ?? this.timeoutMs, onProgress: opts.onProgress, signal: opts.signal })
  }

  /** GET a path outside the typed routes (health, metrics); resolves to status and text. */
  async raw (path: string): Promise<{ status: number, body: string }> {
    return await this.send('GET', path, undefined)
  }

  /** The server validated the response against its schema; the client trusts its own node. */
  private async call<Res, Body> (route: Route<Res, Body>, opts: { body?: Body, raw?: Uint8Array, params?: Record<string, string>, query?: Record<string, string | number | undefined> } = {}): Promise<Res> {
    let path: string = route.path
    for (const [key, value] of Object.entries(opts.params ?? {})) path = path.replace(`:${key}`, encodeURIComponent(value))
    const query = Object.entries(opts.query ?? {}).filter((e): e is [string, string | number] => e[1] !== undefined)
    if (query.length > 0) path += '?' + new URLSearchParams(query.map(([k, v]): [string, string] => [k, String(v)])).toString()
    const { status, body } = await this.send(route.method, path, opts.raw ?? opts.body)
    let parsed: unknown
    try {
      parsed = body === '' ? undefined : JSON.parse(body)
    } catch {
      throw new AgoraError('E599', `the node answered ${route.method} ${path} with something that is not JSON`, { why: body.slice(0, 200) })
    }
    if (status >= 400) {
      const error = (parsed as { error?: ErrorBody } | undefined)?.error
      if (error !== undefined) throw errorFromBody(error)
      throw new AgoraError('E599', `the node answered ${route.method} ${path} with HTTP ${status}`)
    }
    return parsed as Res
  }

  private async send (method: string, path: string, body: unknown): Promise<{ status: number, body: string }> {
    // bytes go as they are (upload chunks), anything else as JSON
    const raw = body instanceof Uint8Array
    const payload = body === undefined ? undefined : raw ? body : JSON.stringify(body)
    const headers: Record<string, string> = {}
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`
    if (payload !== undefined) headers['content-type'] = raw ? 'application/octet-stream' : 'application/json'
    return await new Promise((resolve, reject) => {
      const req = httpRequest(this.url + path, { method, headers, timeout: this.timeoutMs }, res => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }) })
        res.on('error', reject)
      })
      req.on('timeout', () => { req.destroy(new AgoraError('E204', `the node at ${this.url} did not answer ${method} ${path} within ${this.timeoutMs} ms`)) })
      req.on('error', err => {
        reject(err instanceof AgoraError ? err : new AgoraError('E601', `cannot reach the node at ${this.url}`, { why: messageOf(err), cause: err }))
      })
      req.end(payload)
    })
  }
}

/** Read the address and token of the node running on a data dir; E601 when there is none. */
export function readApiInfo (dataDir: string): { info: ApiInfo, token: string } {
  let info: ApiInfo
  try {
    info = JSON.parse(readFileSync(join(dataDir, API_INFO_FILE), 'utf8')) as ApiInfo
  } catch {
    throw new AgoraError('E601', `no node is running on data dir ${dataDir}`, { why: `${join(dataDir, API_INFO_FILE)} is missing` })
  }
  if (!isAlive(info.pid)) {
    throw new AgoraError('E601', `no node is running on data dir ${dataDir}`, { why: `the node that wrote ${API_INFO_FILE} (pid ${info.pid}) has exited` })
  }
  let token: string
  try {
    token = readFileSync(join(dataDir, API_TOKEN_FILE), 'utf8').trim()
  } catch (err) {
    throw new AgoraError('E500', `cannot read the API token of the node on ${dataDir}`, { why: messageOf(err) })
  }
  return { info, token }
}

/** A client for the node running on `dataDir`. */
export function clientFor (dataDir: string, init: Partial<ClientInit> = {}): ControlClient {
  const { info, token } = readApiInfo(dataDir)
  return new ControlClient({ url: info.url, token, ...init })
}

/** A client for the node running on `dataDir`, or undefined when none runs (other errors, such as an unreadable token, still throw). */
export function clientIfRunning (dataDir: string, init: Partial<ClientInit> = {}): ControlClient | undefined {
  try {
    return clientFor(dataDir, init)
  } catch (err) {
    if (err instanceof AgoraError && err.code === 'E601') return undefined
    throw err
  }
}

export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: it exists but belongs to someone else
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
