/**
 * What `agora demo` prints: one line per step as it happens, then how to
 * talk to the swarm (the API and /v1 URLs, ready-to-paste `agora` and curl
 * lines) and how to stop it. Plain text; the command decides where it goes.
 */
import { ECHO_CHAT_MODEL, WINK_EMBED_MODEL } from '../providers/index.ts'
import { DEMO_NODES } from './constants.ts'
import type { ChatStep, EmbedStep, JobStep } from './steps.ts'
import type { DemoNodeState } from './state.ts'
import type { StopReport } from './swarm.ts'

export const STOP_COMMAND = 'agora demo --stop'

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`
const short = (peerId: string): string => peerId.length > 16 ? `${peerId.slice(0, 12)}…${peerId.slice(-4)}` : peerId

export function nodeLine (node: DemoNodeState, ms: number): string {
  const what = DEMO_NODES.find(n => n.name === node.name)?.what ?? node.role
  return `  ✓ ${node.name}  ${short(node.peerId)}  ${node.apiUrl}  ${what}  [${seconds(ms)}]`
}

export function meshLine (ms: number): string {
  return `  ✓ the nodes are connected and know each other's offers  [${seconds(ms)}]`
}

export function chatLine (step: ChatStep, gateway: string): string {
  return `chat       ${step.model} asked at ${gateway}, served by ${step.servedBy} (${short(step.server)}), ${step.promptTokens} + ${step.completionTokens} tokens  [${seconds(step.ms)}]\n           “${step.answer}”`
}

export function embedLine (step: EmbedStep, gateway: string): string {
  return `embedding  ${step.model} asked at ${gateway}, served by ${step.servedBy}: ${step.dimensions} dimensions, ${step.promptTokens} tokens  [${seconds(step.ms)}]`
}

export function jobLine (step: JobStep): string {
  return `job        ${step.type} ${step.id} ${step.state}: ${step.subtasks} subtask(s) run by ${step.workers.join(', ')}, ${step.chunks} chunks × ${step.dimensions} dimensions  [${seconds(step.ms)}]`
}

/** How to use the running swarm, and how to stop it. */
export function nextSteps (nodes: DemoNodeState[], dir: string): string {
  const gateway = nodes[0]
  if (gateway === undefined) return ''
  const d = `--data-dir ${gateway.dataDir}`
  const v1 = `${gateway.apiUrl}/v1`
  return [
    '',
    `The swarm keeps running (folder ${dir}). Talk to it through ${gateway.name}:`,
    `  OpenAI API   ${v1}   (any OpenAI SDK; no key needed from this machine)`,
    `  control API  ${gateway.apiUrl}/api/v1   (bearer token in ${gateway.dataDir}/api.token)`,
    '',
    `  agora ${d} chat ${ECHO_CHAT_MODEL} "hi there"`,
    `  agora ${d} embed ${WINK_EMBED_MODEL} "hello world"`,
    `  agora ${d} jobs submit --type text.embed --text "One sentence. Another one." --wait`,
    `  agora ${d} models list`,
    `  agora ${d} peers list`,
    `  curl -s ${v1}/chat/completions -H 'content-type: application/json' -d '{"model":"${ECHO_CHAT_MODEL}","messages":[{"role":"user","content":"hi"}]}'`,
    '',
    `Logs: ${nodes.map(n => n.log).join('  ')}`,
    `Stop it: ${STOP_COMMAND}   (stops the three nodes and removes ${dir})`
  ].join('\n')
}

export function stoppedLine (report: StopReport): string {
  const nodes = report.nodes.map(n => `${n.name} (pid ${n.pid}) ${n.outcome}`).join(', ')
  return `demo stopped: ${nodes === '' ? 'no node was running' : nodes}; removed ${report.removed}`
}
