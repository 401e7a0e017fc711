/** The API room's door. */
export { buildApiServer } from './server.ts'
export { localApiUrl } from './guard.ts'
export type { ApiComponents, ApiInit } from './server.ts'
export type { ControlPlane } from './control-plane.ts'
export { ApiKeys, createApiKeyCheck, isLoopback, API_KEY_PREFIX } from './keys/index.ts'
export type { ApiKeysComponents, ApiKeysInit, ApiKeyEntry, CreatedApiKey } from './keys/index.ts'
export { OPENAI_PREFIX } from './routes/openai.ts'
