/**
 * Providers the user added (`agora providers add`): their spec, its checks
 * (E710) and where it is kept — the kv store, key `providers.user`, as a
 * list of `{name, kind, url, apiKeyEnv?}`. A key is never stored, only the
 * name of the environment variable that holds it.
 */
import { z } from 'zod'
import { AgoraError } from '../errors.ts'
import { ENV_VAR_NAME, PROVIDER_NAME, USER_PROVIDERS_KEY } from './constants.ts'
import type { KvRepository } from '../store/index.ts'

export type HttpProviderKind = 'ollama' | 'openai'

export interface ProviderSpec {
  name: string
  kind: HttpProviderKind
  /** Base URL: Ollama's root, or an OpenAI-compatible API root (`/v1` is added when the URL has no path). */
  url: string
  /** Environment variable holding a bearer key. */
  apiKeyEnv?: string | undefined
}

const specSchema = z.object({
  name: z.string(),
  kind: z.string(),
  url: z.string(),
  apiKeyEnv: z.string().optional()
})

/** Checks a spec and returns it normalised (URL without trailing slash); E710 says what is wrong. */
export function validateSpec (input: unknown): ProviderSpec {
  const parsed = specSchema.safeParse(input)
  if (!parsed.success) throw bad(`expected {name, kind, url, apiKeyEnv?}: ${parsed.error.issues[0]?.message ?? 'invalid'}`)
  const { name, kind, url, apiKeyEnv } = parsed.data
  if (!PROVIDER_NAME.test(name)) throw bad(`name '${name}' must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`)
  if (kind !== 'ollama' && kind !== 'openai') throw bad(`kind '${kind}' is not known; use ollama or openai (for LM Studio, llama.cpp server, vLLM, …)`)
  let parsedUrl: URL
  try {
    parsedUrl = new URL(url)
  } catch {
    throw bad(`'${url}' is not a URL`)
  }
  if (parsedUrl.protocol !== 'http:' && parsedUrl.protocol !== 'https:') throw bad(`the URL must be http or https, not ${parsedUrl.protocol}`)
  if (parsedUrl.username !== '' || parsedUrl.password !== '') throw bad('the URL must not carry credentials; put a key in an environment variable and pass --api-key-env')
  if (parsedUrl.search !== '' || parsedUrl.hash !== '') throw bad('the URL must not have a query or a fragment')
  if (apiKeyEnv !== undefined && !ENV_VAR_NAME.test(apiKeyEnv)) throw bad(`--api-key-env takes the name of an environment variable (not the key itself), got '${apiKeyEnv.slice(0, 4)}…'`)
  const spec: ProviderSpec = { name, kind, url: `${parsedUrl.origin}${parsedUrl.pathname}`.replace(/\/+$/, '') }
  if (apiKeyEnv !== undefined) spec.apiKeyEnv = apiKeyEnv
  return spec
}

/** Same scheme, host and port: two providers there are the same engine (whatever API path each names). */
export function sameEngine (a: string, b: string): boolean {
  return new URL(a).origin === new URL(b).origin
}

/** Reads the stored specs; entries that no longer validate are returned apart, so the caller can log them. */
export function loadSpecs (kv: KvRepository): { specs: ProviderSpec[], invalid: Array<{ entry: unknown, why: string }> } {
  const stored = kv.get<unknown>(USER_PROVIDERS_KEY)
  const specs: ProviderSpec[] = []
  const invalid: Array<{ entry: unknown, why: string }> = []
  for (const entry of Array.isArray(stored) ? stored : []) {
    try {
      const spec = validateSpec(entry)
      if (specs.some(s => s.name === spec.name)) throw bad(`duplicate name '${spec.name}'`)
      specs.push(spec)
    } catch (err) {
      invalid.push({ entry, why: err instanceof AgoraError ? err.why ?? err.what : String(err) })
    }
  }
  return { specs, invalid }
}

export function saveSpecs (kv: KvRepository, specs: ProviderSpec[]): void {
  kv.set(USER_PROVIDERS_KEY, specs.map(s => s.apiKeyEnv === undefined ? { name: s.name, kind: s.kind, url: s.url } : { ...s }))
}

function bad (why: string): AgoraError {
  return new AgoraError('E710', 'invalid provider', { why })
}
