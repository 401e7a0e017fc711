/** The client room's door: the typed control-API client and the shared route shapes. */
export { ControlClient, clientFor, clientIfRunning, readApiInfo, isAlive, API_INFO_FILE, API_TOKEN_FILE } from './client.ts'
export type { ApiInfo, ClientInit } from './client.ts'
export * from './routes.ts'
export type { StatusResponse, StatusDetail, PeerEntry, IdentityResponse, EventMessage, OffersQuery, OffersQueryInput, ModelEntry, ApiKeyEntry, CreatedKeyResponse, RequestsQuery, RequestRecordJson, ProviderEntry, JobDetail, JobJson, SubtaskJson, JobsQuery } from './schemas.ts'
export type { UploadFileOptions, UploadTarget } from './upload.ts'
export { EventsClient } from './events-client.ts'
export type { CreateInviteBody, InviteJson } from './invite-schemas.ts'
