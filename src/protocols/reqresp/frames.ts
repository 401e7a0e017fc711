/**
 * Response frames: one status byte, then the body. Bodies of OK frames use
 * the protocol's codec (JSON by default); ERROR bodies are always JSON.
 */
import { z } from 'zod'
import { AgoraError, isErrorCode, messageOf } from '../../errors.ts'
import { MAX_ERROR_FRAME_BYTES, MAX_ERROR_TEXT, STATUS, type Status } from './constants.ts'
import type { Codec } from './types.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export const jsonCodec: Codec = {
  encode: (value: unknown) => encoder.encode(JSON.stringify(value)),
  decode: (bytes: Uint8Array) => JSON.parse(decoder.decode(bytes)) as unknown
}

export function frame (status: Status, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(body.byteLength + 1)
  out[0] = status
  out.set(body, 1)
  return out
}

export interface DecodedFrame {
  status: number
  body: Uint8Array
}

export function splitFrame (bytes: Uint8Array): DecodedFrame | undefined {
  if (bytes.byteLength === 0) return undefined
  return { status: bytes[0] as number, body: bytes.subarray(1) }
}

const errorBodySchema = z.object({
  code: z.string().max(8),
  message: z.string().max(MAX_ERROR_TEXT),
  why: z.string().max(MAX_ERROR_TEXT).optional()
})

function clip (text: string, max = MAX_ERROR_TEXT): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text
}

/** The ERROR frame telling the caller what went wrong (no stack, no cause), at most MAX_ERROR_FRAME_BYTES. */
export function errorFrame (err: AgoraError): Uint8Array {
  const body: z.infer<typeof errorBodySchema> = { code: err.code, message: clip(err.what) }
  if (err.why !== undefined) body.why = clip(err.why)
  let bytes = encoder.encode(JSON.stringify(body))
  // multi-byte characters or escapes made it too big: send less
  if (bytes.byteLength >= MAX_ERROR_FRAME_BYTES) bytes = encoder.encode(JSON.stringify({ code: err.code, message: clip(err.what, 200) }))
  return frame(STATUS.ERROR, bytes)
}

/** Rebuild the remote's error; undefined when the body is not a valid error. */
export function decodeErrorBody (body: Uint8Array, details: Record<string, unknown>): AgoraError | undefined {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(body))
  } catch {
    return undefined
  }
  const parsed = errorBodySchema.safeParse(value)
  if (!parsed.success) return undefined
  const { code, message, why } = parsed.data
  const known = isErrorCode(code) ? code : 'E207'
  return new AgoraError(known, message, { ...(why === undefined ? {} : { why }), details: { ...details, remote: true, remoteCode: code } })
}

/** Why a value could not be decoded or validated, in one short line. */
export function problemOf (err: unknown): string {
  if (err instanceof z.ZodError) {
    const issue = err.issues[0]
    return issue === undefined ? 'invalid' : `${issue.path.join('.') || '(root)'}: ${issue.message}`
  }
  return clip(messageOf(err))
}
