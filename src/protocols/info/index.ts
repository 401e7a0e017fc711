/** /agora/info/1: a peer's id, version, agent, addresses and clock. */
export { InfoService, infoProtocol } from './info-service.ts'
export type { InfoServiceComponents } from './info-service.ts'
export { infoRequestSchema, infoResponseSchema } from './schema.ts'
export type { InfoRequest, InfoResponse } from './schema.ts'
export { INFO_PROTOCOL_ID } from './constants.ts'
