/**
 * Discovery of the engines people run next to a node: Ollama on 11434 (GET
 * /api/version), LM Studio on 1234 and llama.cpp's server on 8080 (GET
 * /v1/models, OpenAI-compatible). A port counts only when it answers the
 * way its engine does, so an unrelated web server on 8080 is not taken for
 * llama.cpp. Probes go to one host (127.0.0.1) with a short time limit.
 */
import { DISCOVERY_PORTS, type DiscoveryTarget } from './constants.ts'
import type { Dispatcher } from 'undici'
import { UpstreamCall } from './http/upstream.ts'
import { probeOllama } from './ollama/provider.ts'
import { openAIBase, probeOpenAI } from './openai-compatible/provider.ts'
import type { HttpProviderKind } from './specs.ts'

export interface DiscoveryCandidate {
  target: DiscoveryTarget
  /** Provider name when found, e.g. `ollama-local`. */
  name: string
  kind: HttpProviderKind
  url: string
}

const KINDS: Record<DiscoveryTarget, HttpProviderKind> = { ollama: 'ollama', lmstudio: 'openai', llamacpp: 'openai' }

export function discoveryCandidates (host: string, ports: Partial<Record<DiscoveryTarget, number>> = {}): DiscoveryCandidate[] {
  const hostPart = host.includes(':') ? `[${host}]` : host
  return (Object.keys(DISCOVERY_PORTS) as DiscoveryTarget[]).map(target => ({
    target,
    name: `${target}-local`,
    kind: KINDS[target],
    url: `http://${hostPart}:${ports[target] ?? DISCOVERY_PORTS[target]}`
  }))
}

/** Whether the candidate's engine answers at its port, within `timeoutMs`. Never throws. */
export async function probeCandidate (candidate: DiscoveryCandidate, dispatcher: Dispatcher, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const call = new UpstreamCall({ provider: candidate.name, dispatcher, signal, timeoutMs })
  try {
    if (candidate.kind === 'ollama') await probeOllama(call, candidate.url)
    else await probeOpenAI(call, openAIBase(candidate.url))
    return true
  } catch {
    return false
  } finally {
    call.dispose()
  }
}
