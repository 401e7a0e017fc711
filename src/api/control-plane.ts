/**
 * What the control API needs from the node: a narrow interface, so the API
 * can be tested against a stub and the node keeps its internals private.
 */
import type { StatusDetail, StatusResponse, PeerEntry, IdentityResponse, OffersQuery, ModelEntry, RequestsQuery, ProviderEntry, AddProviderSpec } from '../client/schemas.ts'
import type { RequestRecord } from '../gateway/index.ts'
import type { Offer } from '../offers/index.ts'

export type TrustMode = 'private' | 'friends' | 'public'

export interface ControlPlane {
  status(): StatusResponse
  /** The network's inner state and counters, for `status --detailed`. */
  statusDetail(): Promise<StatusDetail>
  peers(): PeerEntry[]
  identity(): IdentityResponse
  connect(multiaddr: string, opts: { signal?: AbortSignal }): Promise<{ peerId: string, addresses: string[] }>
  disconnect(peerId: string): Promise<boolean>
  /** Hang up on the peer and forget it (book and address book); E1350 for a banned one. Answers whether it was known. */
  removePeer(peerId: string): Promise<boolean>
  ping(peerId: string, opts: { signal?: AbortSignal }): Promise<number>
  trust(peerId: string): PeerEntry
  untrust(peerId: string): PeerEntry
  ban(peerId: string, opts: { reason?: string | undefined, durationMs?: number | undefined }): Promise<PeerEntry>
  unban(peerId: string): PeerEntry
  /** Valid offers on the network (ours included), filtered. */
  offers(query: OffersQuery): Offer[]
  /** Our own current offer; E505 when withdrawn. */
  localOffer(): Offer
  /** One offer by id; E505 when unknown or expired. */
  offer(id: string): Offer
  withdraw(): Promise<{ withdrawn: boolean, offerId: string | null }>
  announce(): Promise<Offer>
  /** Every model on the network with how many nodes serve it, best price and latency. */
  models(): ModelEntry[]
  /** Metered inference requests, newest first. */
  requests(query: RequestsQuery): RequestRecord[]
  /** One metered request; E505 when unknown. */
  request(id: string): RequestRecord
  providers(): ProviderEntry[]
  addProvider(spec: AddProviderSpec): Promise<ProviderEntry>
  removeProvider(name: string): Promise<boolean>
  testProvider(name: string): Promise<ProviderEntry>
  trustMode(): TrustMode
  setTrustMode(mode: TrustMode): TrustMode
  /** True once every component started, false again when stopping. */
  ready(): boolean
  /** Begin a graceful stop after the current response is sent. */
  requestStop(reason: string): void
}
