/** API keys for the OpenAI-compatible API: the store of hashed keys and the /v1 access check. */
export { ApiKeys, API_KEY_PREFIX, KEY_PREFIX_LENGTH } from './api-keys.ts'
export type { ApiKeysComponents, ApiKeysInit, ApiKeyEntry, CreatedApiKey } from './api-keys.ts'
export { createApiKeyCheck, isLoopback } from './auth.ts'
export type { ApiKeyCheck, ApiKeyCheckInit } from './auth.ts'
