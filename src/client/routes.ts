/**
 * The control API's routes: method, path and the schema names of body and
 * response (see schemas.ts). Shared by the server (src/api/) and the client.
 */
import type { z } from 'zod'
import type * as S from './schemas.ts'
import type { Offer } from '../offers/index.ts'
import type { RequestRecord } from '../gateway/index.ts'

export const API_PREFIX = '/api/v1'

export interface Route<Res, Body = undefined> {
  method: 'GET' | 'POST'
  path: string
  /** Phantom fields: carry the types only. */
  response?: Res
  body?: Body
}

const route = <Res, Body = undefined>(method: 'GET' | 'POST', path: string): Route<Res, Body> => ({ method, path })

export const ROUTES = {
  status: route<S.StatusResponse>('GET', `${API_PREFIX}/status`),
  peers: route<S.PeerEntry[]>('GET', `${API_PREFIX}/peers`),
  connect: route<z.infer<typeof S.connectResponse>, z.infer<typeof S.connectBody>>('POST', `${API_PREFIX}/peers/connect`),
  disconnect: route<z.infer<typeof S.disconnectResponse>>('POST', `${API_PREFIX}/peers/:id/disconnect`),
  ping: route<z.infer<typeof S.pingResponse>>('POST', `${API_PREFIX}/peers/:id/ping`),
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
  requests: route<RequestRecord[]>('GET', `${API_PREFIX}/requests`),
  request: route<RequestRecord>('GET', `${API_PREFIX}/requests/:id`),
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
  events: route<never>('GET', `${API_PREFIX}/events`)
} as const

export type RouteResponse<R> = R extends Route<infer Res, unknown> ? Res : never
export type RouteBody<R> = R extends Route<unknown, infer Body> ? Body : never
