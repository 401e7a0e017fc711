/** Names and defaults the whole jobs room shares. */
import type { AgoraConfig } from '../config/schema.ts'

export type JobsConfig = AgoraConfig['jobs']
