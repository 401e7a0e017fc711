/**
 * What the wizard looks at on the machine, through the rooms that already
 * do it: the identity room reads a PEM, the providers room's discovery
 * probes the usual ports, and a provider adapter makes the test call.
 */
import { readFile } from 'node:fs/promises'
import { AgoraError, messageOf } from '../../errors.ts'
import { identityFromPem } from '../../identity/index.ts'
import { discoveryCandidates, probeCandidate } from '../../providers/discovery.ts'
import { newProviderAgent } from '../../providers/http/base.ts'
import { OllamaProvider, OpenAICompatibleProvider, PROVIDER_DEFAULTS, type HttpProviderKind } from '../../providers/index.ts'
import { silentLogger } from '../../observability/logger.ts'
import type { EngineChoice } from './answers.ts'
import type { SetupProbes } from './steps.ts'

export function machineProbes (): SetupProbes {
  return { pemPeerId, discover, listModels }
}

async function pemPeerId (file: string): Promise<string> {
  let pem: string
  try {
    pem = await readFile(file, 'utf8')
  } catch (err) {
    throw new AgoraError('E101', `cannot read ${file}`, { why: messageOf(err) })
  }
  return (await identityFromPem(pem)).peerIdString
}

/** Every usual port at once, each within discovery's own time limit; a found engine also lists its models. */
async function discover (): Promise<EngineChoice[]> {
  const dispatcher = newProviderAgent()
  try {
    const candidates = discoveryCandidates(PROVIDER_DEFAULTS.discoveryHost)
    const answered = await Promise.all(candidates.map(async c => await probeCandidate(c, dispatcher, PROVIDER_DEFAULTS.discoveryTimeoutMs)))
    const found = candidates.filter((_, i) => answered[i] === true)
    return await Promise.all(found.map(async c => {
      const models = await listModels(c.kind, c.url).catch(() => [])
      return { name: c.name, kind: c.kind, url: c.url, source: 'found' as const, models }
    }))
  } finally {
    await dispatcher.close()
  }
}

/** The test call: list the engine's models through the adapter the node itself would use. */
async function listModels (kind: HttpProviderKind, url: string): Promise<string[]> {
  const init = { id: 'setup-test', url, probeTimeoutMs: PROVIDER_DEFAULTS.probeTimeoutMs }
  const components = { logger: silentLogger() }
  const provider = kind === 'ollama' ? new OllamaProvider(components, init) : new OpenAICompatibleProvider(components, init)
  try {
    return (await provider.refreshModels({ force: true })).map(m => m.name)
  } catch (err) {
    const why = err instanceof AgoraError ? [err.code, err.what, err.why].filter(p => p !== undefined).join(' ') : messageOf(err)
    throw new AgoraError('E1342', `the test call to ${url} failed`, { why, cause: err })
  } finally {
    await provider.stop()
  }
}
