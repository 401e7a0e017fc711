/**
 * The control API's routes: method, path and the schema names of body and
 * response (see schemas.ts). Shared by the server (src/api/) and the client.
 */
import type { z } from 'zod'
import type * as S from './schemas.ts'
import type { Offer } from '../offers/index.ts'
import type { JobSpecInput } from '../jobs/types.ts'
import type { BlobRef, JobResult, JobTypeInfo, UploadStatus } from '../jobs/api-types.ts'
import type * as M from './market-schemas.ts'
import type * as N from './needs-schemas.ts'
import type { VerifyStatusJson } from './verify-schemas.ts'
import type { CreateInviteBody, InviteJson } from './invite-schemas.ts'
import type { ConfigPatchBody, ConfigPatchJson, ConfigViewJson } from './config-schemas.ts'
import type * as P from './packages-schemas.ts'

export const API_PREFIX = '/api/v1'

/** Largest chunk PUT /api/v1/uploads/:id accepts. */
export const UPLOAD_CHUNK_MAX_BYTES = 4 * 1024 * 1024

export interface Route<Res, Body = undefined> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  path: string
  /** Phantom fields: carry the types only. */
  response?: Res
  body?: Body
}

const route = <Res, Body = undefined>(method: Route<unknown>['method'], path: string): Route<Res, Body> => ({ method, path })

export const ROUTES = {
  status: route<S.StatusResponse>('GET', `${API_PREFIX}/status`),
  peers: route<S.PeerEntry[]>('GET', `${API_PREFIX}/peers`),
  connect: route<z.infer<typeof S.connectResponse>, z.infer<typeof S.connectBody>>('POST', `${API_PREFIX}/peers/connect`),
  disconnect: route<z.infer<typeof S.disconnectResponse>>('POST', `${API_PREFIX}/peers/:id/disconnect`),
  ping: route<z.infer<typeof S.pingResponse>>('POST', `${API_PREFIX}/peers/:id/ping`),
  removePeer: route<{ peerId: string, removed: boolean }>('POST', `${API_PREFIX}/peers/:id/remove`),
  trust: route<S.PeerEntry>('POST', `${API_PREFIX}/peers/:id/trust`),
  untrust: route<S.PeerEntry>('POST', `${API_PREFIX}/peers/:id/untrust`),
  ban: route<S.PeerEntry, z.infer<typeof S.banBody>>('POST', `${API_PREFIX}/peers/:id/ban`),
  unban: route<S.PeerEntry>('POST', `${API_PREFIX}/peers/:id/unban`),
  offers: route<Offer[]>('GET', `${API_PREFIX}/offers`),
  localOffer: route<Offer>('GET', `${API_PREFIX}/offers/local`),
  offer: route<Offer>('GET', `${API_PREFIX}/offers/:id`),
  withdraw: route<z.infer<typeof S.withdrawResponse>>('POST', `${API_PREFIX}/offers/withdraw`),
  announce: route<Offer>('POST', `${API_PREFIX}/offers/announce`),
  models: route<S.ModelEntry[]>('GET', `${API_PREFIX}/models`),
  requests: route<S.RequestRecordJson[]>('GET', `${API_PREFIX}/requests`),
  request: route<S.RequestRecordJson>('GET', `${API_PREFIX}/requests/:id`),
  providers: route<S.ProviderEntry[]>('GET', `${API_PREFIX}/providers`),
  addProvider: route<S.ProviderEntry, S.AddProviderSpec>('POST', `${API_PREFIX}/providers`),
  removeProvider: route<{ removed: boolean }>('POST', `${API_PREFIX}/providers/:name/remove`),
  testProvider: route<S.ProviderEntry>('POST', `${API_PREFIX}/providers/:name/test`),
  access: route<z.infer<typeof S.accessResponse>>('GET', `${API_PREFIX}/access`),
  setAccess: route<z.infer<typeof S.accessResponse>, z.infer<typeof S.accessBody>>('POST', `${API_PREFIX}/access`),
  identity: route<S.IdentityResponse>('GET', `${API_PREFIX}/identity`),
  keys: route<S.ApiKeyEntry[]>('GET', `${API_PREFIX}/keys`),
  createKey: route<S.CreatedKeyResponse, z.infer<typeof S.createKeyBody>>('POST', `${API_PREFIX}/keys`),
  revokeKey: route<S.ApiKeyEntry>('POST', `${API_PREFIX}/keys/:id/revoke`),
  stop: route<z.infer<typeof S.stopResponse>>('POST', `${API_PREFIX}/node/stop`),
  events: route<never>('GET', `${API_PREFIX}/events`),
  /** JSON lines (pino records), not one JSON value; `?follow=1` streams. */
  logs: route<never>('GET', `${API_PREFIX}/logs`),
  jobs: route<S.JobJson[]>('GET', `${API_PREFIX}/jobs`),
  submitJob: route<S.JobJson, JobSpecInput>('POST', `${API_PREFIX}/jobs`),
  jobTypes: route<JobTypeInfo[]>('GET', `${API_PREFIX}/jobs/types`),
  job: route<S.JobDetail>('GET', `${API_PREFIX}/jobs/:id`),
  /** The same path with `?subtasks=false`: the job alone (cheap to poll). */
  jobSummary: route<S.JobJson>('GET', `${API_PREFIX}/jobs/:id`),
  jobResult: route<JobResult>('GET', `${API_PREFIX}/jobs/:id/result`),
  cancelJob: route<S.JobJson>('POST', `${API_PREFIX}/jobs/:id/cancel`),
  beginUpload: route<UploadStatus, z.infer<typeof S.uploadBody>>('POST', `${API_PREFIX}/uploads`),
  /** Body: the chunk as application/octet-stream (at most UPLOAD_CHUNK_MAX_BYTES); query `offset`. */
  appendUpload: route<UploadStatus>('PUT', `${API_PREFIX}/uploads/:id`),
  completeUpload: route<BlobRef, z.infer<typeof S.completeUploadBody>>('POST', `${API_PREFIX}/uploads/:id/complete`),
  verifyStatus: route<VerifyStatusJson>('GET', `${API_PREFIX}/verify/status`),
  createInvite: route<InviteJson, CreateInviteBody>('POST', `${API_PREFIX}/invites`),
  config: route<ConfigViewJson>('GET', `${API_PREFIX}/config`),
  patchConfig: route<ConfigPatchJson, ConfigPatchBody>('PATCH', `${API_PREFIX}/config`),
  wallet: route<M.WalletJson>('GET', `${API_PREFIX}/wallet`),
  walletHistory: route<M.WalletEntryJson[]>('GET', `${API_PREFIX}/wallet/history`),
  reconcile: route<M.ReconcileJson>('GET', `${API_PREFIX}/wallet/reconcile/:peer`),
  limits: route<M.PeerBalanceJson[]>('GET', `${API_PREFIX}/market/limits`),
  setLimit: route<M.PeerBalanceJson, M.LimitBody>('PUT', `${API_PREFIX}/market/limits/:peer`),
  contracts: route<M.ContractJson[]>('GET', `${API_PREFIX}/market/contracts`),
  contract: route<M.ContractJson>('GET', `${API_PREFIX}/market/contracts/:id`),
  pending: route<M.ContractJson[]>('GET', `${API_PREFIX}/market/pending`),
  marketRequest: route<M.ContractJson, M.MarketRequestBody>('POST', `${API_PREFIX}/market/requests`),
  acceptContract: route<M.ContractJson>('POST', `${API_PREFIX}/market/contracts/:id/accept`),
  rejectContract: route<M.ContractJson, M.RejectBodyInput>('POST', `${API_PREFIX}/market/contracts/:id/reject`),
  cancelContract: route<M.ContractJson>('POST', `${API_PREFIX}/market/contracts/:id/cancel`),
  needs: route<N.NeedJson[]>('GET', `${API_PREFIX}/market/needs`),
  need: route<N.NeedViewJson>('GET', `${API_PREFIX}/market/needs/:id`),
  createNeed: route<N.NeedJson, N.NeedBody>('POST', `${API_PREFIX}/market/needs`),
  decideNeed: route<N.NeedJson, N.DecideBody>('POST', `${API_PREFIX}/market/needs/:id/decide`),
  cancelNeed: route<N.NeedJson>('POST', `${API_PREFIX}/market/needs/:id/cancel`),
  // packages (docs/packages.md): a spec travels in ?spec= or the body, never in the path
  packageSearch: route<P.SearchResult>('GET', `${API_PREFIX}/packages/search`),
  packageInfo: route<P.PackageInfo>('GET', `${API_PREFIX}/packages/info`),
  packages: route<P.InstalledPackage[]>('GET', `${API_PREFIX}/packages`),
  /** `?progress=1` (or Accept: text/event-stream): P.ProgressEvent server-sent events, the result last. */
  installPackage: route<P.InstalledPackage, P.InstallBody>('POST', `${API_PREFIX}/packages/install`),
  /** `?progress=1` as for install. */
  publishPackage: route<P.PublishResult, P.PublishBody>('POST', `${API_PREFIX}/packages/publish`),
  removePackage: route<P.InstalledPackage>('DELETE', `${API_PREFIX}/packages`),
  pinPackage: route<P.InstalledPackage, { spec: string }>('POST', `${API_PREFIX}/packages/pin`),
  unpinPackage: route<P.InstalledPackage, { spec: string }>('POST', `${API_PREFIX}/packages/unpin`),
  verifyPackages: route<P.VerifyReport[], { spec?: string }>('POST', `${API_PREFIX}/packages/verify`),
  gcPackages: route<P.GcResult>('POST', `${API_PREFIX}/packages/gc`),
  exportPackage: route<P.ExportJson, P.ExportBody>('POST', `${API_PREFIX}/packages/export`),
  importPackage: route<P.ImportJson, P.ImportBody>('POST', `${API_PREFIX}/packages/import`)
} as const

export type RouteResponse<R> = R extends Route<infer Res, unknown> ? Res : never
export type RouteBody<R> = R extends Route<unknown, infer Body> ? Body : never
