/**
 * The install benchmark's floor: a bare libp2p stream (Noise + Yamux, one
 * direction, no protocol on top) between the same processes that install.
 * A provider serves `/agora-bench/raw/1`: the asker writes a byte count and
 * closes its side; the provider sends that many bytes of the file (with
 * backpressure) and closes. The installer asks each provider for its share
 * at once, so the figure is comparable with an install from all of them.
 */
import type { Libp2p, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { drained } from '../src/protocols/reqresp/streams.ts'

export const RAW_PROTOCOL = '/agora-bench/raw/1'
/** Slices handed to the stream (the encrypter cuts them to 64 KiB records anyway). */
const SLICE = 1024 * 1024

/** Provider side: answer each raw-copy request with the first `n` bytes of `bytes`. */
export async function serveRawCopies (libp2p: Libp2p, bytes: Uint8Array): Promise<void> {
  await libp2p.handle(RAW_PROTOCOL, async (stream: Stream) => {
    let asked = ''
    for await (const chunk of stream) asked += new TextDecoder().decode(chunk.subarray())
    const n = Math.min(Number(asked), bytes.byteLength)
    const signal = AbortSignal.timeout(120_000)
    for (let offset = 0; offset < n; offset += SLICE) {
      if (!stream.send(bytes.subarray(offset, Math.min(n, offset + SLICE)))) await drained(stream, signal)
    }
    await stream.close({ signal })
  })
}

/** Installer side: MB/s of reading `bytes` in all, split evenly over `addresses`, at once. */
export async function rawStreamCopy (libp2p: Libp2p, addresses: string[], bytes: number): Promise<number> {
  const share = Math.ceil(bytes / addresses.length)
  const started = performance.now()
  const received = await Promise.all(addresses.map(async address => {
    const stream = await libp2p.dialProtocol(multiaddr(address), RAW_PROTOCOL)
    stream.send(new TextEncoder().encode(String(share)))
    await stream.close()
    let got = 0
    for await (const chunk of stream) got += chunk.byteLength
    return got
  }))
  const total = received.reduce((a, b) => a + b, 0)
  if (total < bytes) throw new Error(`raw stream copy got ${total} of ${bytes} bytes`)
  return total / 1e6 / ((performance.now() - started) / 1000)
}
