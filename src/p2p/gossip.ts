/**
 * The app's door to gossipsub: only allow-listed topics, an app-side publish
 * rate limit (gossipsub has no backpressure; past ~200 msg/s its queues grow
 * until connections die), and per-topic handlers that never see unsigned
 * messages. Over the limit a publish is refused with E206 rather than
 * queued: the caller decides what to drop.
 */
import { AgoraError, messageOf } from '../errors.ts'
import { ALLOWED_TOPICS, GOSSIP_DEFAULTS, isAllowedTopic, type GossipTopic } from './constants.ts'
import { createGossipMetrics, type GossipMetrics } from './metrics.ts'
import { TokenBucket } from './rate-limit.ts'
import type { AgoraLogger, Logger } from '../observability/logger.ts'
import { TopicValidatorResult, type GossipSub, type Message, type TopicValidatorFn } from '@libp2p/gossipsub'
import type { Libp2p } from '@libp2p/interface'
import type { Registry } from 'prom-client'

export interface GossipComponents {
  libp2p: Libp2p<{ pubsub: GossipSub }>
  logger: AgoraLogger
  metrics?: Registry | undefined
}

export interface GossipInit {
  /** Messages this node may publish per second; bursts up to one second's worth. */
  publishPerSecond?: number
  /** Clock for the rate limit (tests). */
  now?: () => number
}

export interface GossipMessage {
  topic: GossipTopic
  data: Uint8Array
  /** Peer id of the signer (gossipsub checked the signature). */
  from: string
}

export type GossipHandler = (message: GossipMessage) => void | Promise<void>

/** What a validator decides: deliver and forward, drop quietly, or drop and lower the sender's gossipsub score. */
export type GossipVerdict = 'accept' | 'ignore' | 'reject'

export interface GossipValidationInput extends GossipMessage {
  /** The peer that sent it to us (the author, `from`, or a peer forwarding it). */
  propagationSource: string
}

export type GossipValidator = (message: GossipValidationInput) => GossipVerdict | Promise<GossipVerdict>

const VERDICTS: Record<GossipVerdict, TopicValidatorResult> = {
  accept: TopicValidatorResult.Accept,
  ignore: TopicValidatorResult.Ignore,
  reject: TopicValidatorResult.Reject
}

export interface PublishResult {
  /** Peers the message was sent to directly. */
  recipients: number
}

export interface WaitForTopicPeersOptions {
  /** Give up when this aborts (default: after 10 s). */
  signal?: AbortSignal
  /** Subscribers needed (default 1). */
  minPeers?: number
}

export class Gossip {
  private readonly pubsub: GossipSub
  private readonly log: Logger
  private readonly metrics: GossipMetrics | undefined
  private readonly bucket: TokenBucket
  private readonly handlers = new Map<GossipTopic, Set<GossipHandler>>()
  private started = false
  private shutdown = new AbortController()

  constructor (components: GossipComponents, init: GossipInit = {}) {
    this.pubsub = components.libp2p.services.pubsub
    this.log = components.logger.forComponent('agora:gossip')
    this.metrics = createGossipMetrics(components.metrics)
    const perSecond = init.publishPerSecond ?? GOSSIP_DEFAULTS.publishPerSecond
    this.bucket = new TokenBucket({ perSecond, burst: perSecond, ...(init.now === undefined ? {} : { now: init.now }) })
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.shutdown = new AbortController()
    this.pubsub.addEventListener('message', this.onMessage)
    for (const topic of this.handlers.keys()) this.pubsub.subscribe(topic)
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    this.shutdown.abort(new AgoraError('E504', 'gossip is stopping'))
    this.pubsub.removeEventListener('message', this.onMessage)
    for (const topic of this.handlers.keys()) {
      try { this.pubsub.unsubscribe(topic) } catch { /* pubsub already stopped */ }
    }
  }

  /** Publish on an allow-listed topic; E209 for other topics, E206 over the rate limit, E210 with no subscribers. */
  async publish (topic: string, data: Uint8Array): Promise<PublishResult> {
    const allowed = checkTopic(topic)
    if (!this.bucket.take()) {
      this.metrics?.rateLimited.inc({ topic })
      throw new AgoraError('E206', `gossip publish on ${topic} refused`, { why: 'over the publish rate limit (network.gossip.publishPerSecond)', details: { topic } })
    }
    try {
      const result = await this.pubsub.publish(allowed, data)
      this.metrics?.published.inc({ topic })
      return { recipients: result.recipients.length }
    } catch (err) {
      if (messageOf(err).includes('NoPeersSubscribedToTopic')) {
        throw new AgoraError('E210', `nobody received the message on ${topic}`, { why: 'no connected peer is subscribed to the topic', cause: err, details: { topic } })
      }
      throw new AgoraError('E599', `gossip publish on ${topic} failed`, { why: messageOf(err), cause: err })
    }
  }

  /** Call `handler` for each message on an allow-listed topic; returns the unsubscribe function. */
  subscribe (topic: string, handler: GossipHandler): () => void {
    const allowed = checkTopic(topic)
    let set = this.handlers.get(allowed)
    if (set === undefined) {
      set = new Set()
      this.handlers.set(allowed, set)
      if (this.started) this.pubsub.subscribe(allowed)
    }
    set.add(handler)
    return () => { this.unsubscribe(allowed, handler) }
  }

  /**
   * Check every message received on `topic` before it is delivered or
   * forwarded (gossipsub's topic validator; keep it fast). A validator that
   * throws counts as 'ignore'. Returns the function that removes it.
   */
  validate (topic: string, validator: GossipValidator): () => void {
    const allowed = checkTopic(topic)
    const fn: TopicValidatorFn = (peer, message) => {
      if (message.type !== 'signed') return TopicValidatorResult.Reject
      const verdict = validator({ topic: allowed, data: message.data, from: message.from.toString(), propagationSource: peer.toString() })
      return verdict instanceof Promise ? verdict.then(v => VERDICTS[v]) : VERDICTS[verdict]
    }
    this.pubsub.topicValidators.set(allowed, fn)
    return () => { if (this.pubsub.topicValidators.get(allowed) === fn) this.pubsub.topicValidators.delete(allowed) }
  }

  /** Peer ids subscribed to the topic, as far as we know. */
  topicPeers (topic: string): string[] {
    return this.pubsub.getSubscribers(checkTopic(topic)).map(String)
  }

  /** Resolve with the subscriber count once at least `minPeers` peers follow the topic; E204 when the signal fires first. */
  async waitForTopicPeers (topic: string, options: WaitForTopicPeersOptions = {}): Promise<number> {
    const allowed = checkTopic(topic)
    const minPeers = options.minPeers ?? 1
    const count = (): number => this.pubsub.getSubscribers(allowed).length
    if (count() >= minPeers) return count()
    const signal = AbortSignal.any([options.signal ?? AbortSignal.timeout(GOSSIP_DEFAULTS.waitForPeersTimeoutMs), this.shutdown.signal])
    return await new Promise<number>((resolve, reject) => {
      const cleanup = (): void => {
        this.pubsub.removeEventListener('subscription-change', onChange)
        signal.removeEventListener('abort', onAbort)
      }
      const onChange = (): void => {
        const n = count()
        if (n < minPeers) return
        cleanup()
        resolve(n)
      }
      const onAbort = (): void => {
        cleanup()
        reject(new AgoraError('E204', `no peer subscribed to ${topic} in time`, { why: `${count()} of ${minPeers} subscribers seen`, details: { topic } }))
      }
      this.pubsub.addEventListener('subscription-change', onChange)
      signal.addEventListener('abort', onAbort, { once: true })
      if (signal.aborted) onAbort()
    })
  }

  private unsubscribe (topic: GossipTopic, handler: GossipHandler): void {
    const set = this.handlers.get(topic)
    if (set === undefined || !set.delete(handler) || set.size > 0) return
    this.handlers.delete(topic)
    if (this.started) this.pubsub.unsubscribe(topic)
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    const message = event.detail
    if (message.type !== 'signed' || !isAllowedTopic(message.topic)) return
    const set = this.handlers.get(message.topic)
    if (set === undefined) return
    this.metrics?.received.inc({ topic: message.topic })
    const delivered: GossipMessage = { topic: message.topic, data: message.data, from: message.from.toString() }
    for (const handler of set) {
      try {
        const result = handler(delivered)
        if (result instanceof Promise) result.catch(err => { this.log.warn({ err, topic: message.topic }, 'gossip handler failed') })
      } catch (err) {
        this.log.warn({ err, topic: message.topic }, 'gossip handler failed')
      }
    }
  }
}

function checkTopic (topic: string): GossipTopic {
  if (isAllowedTopic(topic)) return topic
  throw new AgoraError('E209', `gossip topic ${JSON.stringify(topic)} is not allowed`, { why: `allowed topics: ${ALLOWED_TOPICS.join(', ')}`, details: { topic } })
}
