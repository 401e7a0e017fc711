/** Uniform [0, 1) from the OS's random source: a worker cannot predict which of its results are checked (Math.random's state can be recovered from its outputs). */
import { randomBytes } from 'node:crypto'

export function secureRandom (): number {
  return randomBytes(4).readUInt32BE(0) / 2 ** 32
}
