/**
 * What the demo does through the gateway node, each step a real call a user
 * could make: wait until the swarm is one (peers and offers known), a chat
 * with `agora/echo` (served by the echo node), an embedding with the
 * embedded engine's model, and a small `text.embed` job run by the worker.
 */
import { AgoraError, messageOf } from '../errors.ts'
import { ControlClient, readApiInfo, type JobDetail } from '../client/index.ts'
import { V1Client } from '../client/v1-client.ts'
import { ECHO_CHAT_MODEL, WINK_DIMENSIONS, WINK_EMBED_MODEL } from '../providers/index.ts'
import { DEMO_INPUTS, DEMO_LIMITS } from './constants.ts'
import type { DemoNodeState } from './state.ts'

export interface ChatStep { model: string, answer: string, servedBy: string, server: string, promptTokens: number, completionTokens: number, ms: number }
export interface EmbedStep { model: string, dimensions: number, servedBy: string, server: string, promptTokens: number, ms: number }
export interface JobStep { id: string, type: string, state: string, subtasks: number, workers: string[], chunks: number, dimensions: number, ms: number }

/** The gateway's two clients: the control API and /v1 (both with its token). */
export class DemoGateway {
  readonly control: ControlClient
  readonly v1: V1Client
  private readonly nodes: DemoNodeState[]

  constructor (gateway: DemoNodeState, nodes: DemoNodeState[]) {
    const { info, token } = readApiInfo(gateway.dataDir)
    this.control = new ControlClient({ url: info.url, token, timeoutMs: 15_000 })
    this.v1 = new V1Client(info.url, token)
    this.nodes = nodes
  }

  /** Until the gateway is connected to every other node and knows every node's offer, with agora/echo and a worker for text.embed. */
  async waitForMesh (): Promise<number> {
    const started = performance.now()
    const others = this.nodes.slice(1).map(n => n.peerId)
    let missing = 'nothing asked yet'
    const deadline = Date.now() + DEMO_LIMITS.meshMs
    while (Date.now() < deadline) {
      try {
        missing = await this.meshGap(others)
        if (missing === '') return performance.now() - started
      } catch (err) {
        missing = messageOf(err)
      }
      await new Promise(resolve => setTimeout(resolve, DEMO_LIMITS.pollMs))
    }
    throw new AgoraError('E1304', 'the demo nodes did not find each other in time', { why: `after ${DEMO_LIMITS.meshMs / 1000} s, still missing: ${missing}` })
  }

  /** What the gateway does not know yet, or '' when the swarm is ready. */
  private async meshGap (others: string[]): Promise<string> {
    const peers = new Set((await this.control.peers()).map(p => p.peerId))
    const unconnected = others.filter(p => !peers.has(p))
    if (unconnected.length > 0) return `connections to ${unconnected.map(p => this.nameOf(p)).join(', ')}`
    const offers = await this.control.offers()
    const unknown = this.nodes.filter(n => !offers.some(o => o.node === n.peerId))
    if (unknown.length > 0) return `the offers of ${unknown.map(n => n.name).join(', ')}`
    if (!offers.some(o => o.models.some(m => m.name === ECHO_CHAT_MODEL))) return `an offer of ${ECHO_CHAT_MODEL}`
    if (!offers.some(o => o.node !== this.nodes[0]?.peerId && o.taskTypes.includes('text.embed'))) return 'a worker offering text.embed'
    return ''
  }

  async chat (): Promise<ChatStep> {
    const started = performance.now()
    const result = await this.step('chat', async () => await this.v1.chat(ECHO_CHAT_MODEL, [{ role: 'user', content: DEMO_INPUTS.chat }], () => {}))
    const server = result.server ?? 'local'
    return {
      model: ECHO_CHAT_MODEL,
      answer: result.content,
      servedBy: this.nameOf(server),
      server: this.peerOf(server),
      promptTokens: result.usage?.prompt_tokens ?? 0,
      completionTokens: result.usage?.completion_tokens ?? 0,
      ms: Math.round(performance.now() - started)
    }
  }

  async embed (): Promise<EmbedStep> {
    const started = performance.now()
    const result = await this.step('embedding', async () => await this.v1.embed(WINK_EMBED_MODEL, [DEMO_INPUTS.embed]))
    const server = result.server ?? 'local'
    const dimensions = result.vectors[0]?.length ?? 0
    if (dimensions !== WINK_DIMENSIONS) throw new AgoraError('E1304', 'the demo embedding has the wrong size', { why: `${dimensions} dimensions, expected ${WINK_DIMENSIONS}` })
    return { model: WINK_EMBED_MODEL, dimensions, servedBy: this.nameOf(server), server: this.peerOf(server), promptTokens: result.promptTokens, ms: Math.round(performance.now() - started) }
  }

  /** A text.embed job, one chunk per subtask, followed until it finishes. */
  async job (): Promise<JobStep> {
    const started = performance.now()
    const submitted = await this.step('job', async () => await this.control.submitJob({
      type: 'text.embed',
      input: { kind: 'text', text: DEMO_INPUTS.job },
      params: { chunkChars: DEMO_INPUTS.jobChunkChars, overlapChars: 0, chunksPerSubtask: 1 }
    }))
    const detail = await this.finished(submitted.id)
    if (detail.state !== 'completed') {
      throw new AgoraError('E1304', `the demo job ${detail.id} ${detail.state}`, { why: detail.error === null ? 'no error given' : `${detail.error.code}: ${detail.error.message}` })
    }
    const { result } = await this.control.jobResult(detail.id)
    const merged = result as { dimensions?: number, chunks?: unknown[] }
    const workers = [...new Set(detail.subtasks.map(s => s.worker === null ? '-' : this.nameOf(s.worker)))].sort()
    return { id: detail.id, type: detail.type, state: detail.state, subtasks: detail.subtasks.length, workers, chunks: merged.chunks?.length ?? 0, dimensions: merged.dimensions ?? 0, ms: Math.round(performance.now() - started) }
  }

  private async finished (id: string): Promise<JobDetail> {
    const deadline = Date.now() + DEMO_LIMITS.jobMs
    for (;;) {
      const summary = await this.control.jobSummary(id)
      if (summary.state === 'completed' || summary.state === 'failed' || summary.state === 'cancelled') return await this.control.job(id)
      if (Date.now() > deadline) {
        throw new AgoraError('E1304', `the demo job ${id} did not finish in time`, { why: `${summary.progress.committed}/${summary.progress.total} subtasks done after ${DEMO_LIMITS.jobMs / 1000} s${summary.waiting === undefined ? '' : `; ${summary.waiting}`}` })
      }
      await new Promise(resolve => setTimeout(resolve, DEMO_LIMITS.pollMs))
    }
  }

  /** A step's failure as E1304, naming the step. */
  private async step<T> (name: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (err) {
      throw new AgoraError('E1304', `the demo ${name} failed`, { why: err instanceof AgoraError ? `${err.code}: ${err.what}` : messageOf(err), cause: err })
    }
  }

  /** `node-2` for a demo node's peer id; 'local' is the gateway. */
  nameOf (server: string): string {
    const gateway = this.nodes[0]
    if (server === 'local' && gateway !== undefined) return gateway.name
    return this.nodes.find(n => n.peerId === server)?.name ?? server
  }

  private peerOf (server: string): string {
    return server === 'local' ? this.nodes[0]?.peerId ?? server : server
  }
}
