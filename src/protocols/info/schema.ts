/** The wire messages of /agora/info/1 (one schema each; the types derive from them). */
import { z } from 'zod'
import { INFO_MAX_ADDRS } from './constants.ts'

export const infoRequestSchema = z.object({}).strict()

export const infoResponseSchema = z.object({
  peerId: z.string().min(1).max(128),
  version: z.string().min(1).max(64),
  /** `agora/<version>`. */
  agent: z.string().min(1).max(128),
  listenAddrs: z.array(z.string().max(512)).max(INFO_MAX_ADDRS),
  /** The peer's clock, ms since the epoch (lets callers spot clock skew). */
  time: z.number().int().nonnegative()
}).strict()

export type InfoRequest = z.infer<typeof infoRequestSchema>
export type InfoResponse = z.infer<typeof infoResponseSchema>
