/**
 * A graph walker for Helia's pins that does not read raw leaves. Pinning
 * only needs each block's CID; a raw block (codec 0x55) has no links, so
 * reading its bytes — 1 MiB per leaf under unixfs-v1-2025 — is wasted I/O
 * and garbage: pinning a 256 MiB package that way re-read all of it, and
 * took longer than importing it. A leaf is checked with `has` (a stat);
 * one that is missing is read like any other block, so Helia's usual
 * behaviour (fetch it) is kept. Nodes with links (dag-pb, dag-cbor) are
 * read and walked depth first, as Helia's own walker does.
 */
import type { GraphNode, GraphWalker, GraphWalkerComponents, GraphWalkerFactory, WalkOptions } from '@helia/interface'
import toBuffer from 'it-to-buffer'
import { createUnsafe } from 'multiformats/block'
import type { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'

const NO_BYTES = new Uint8Array(0)

export function leafSkippingWalker (): GraphWalkerFactory {
  return (components: GraphWalkerComponents): GraphWalker => new LeafSkippingWalker(components)
}

class LeafSkippingWalker implements GraphWalker {
  private readonly c: GraphWalkerComponents

  constructor (components: GraphWalkerComponents) {
    this.c = components
  }

  async * walk<T = unknown> (root: CID, options: WalkOptions<T> = {}): AsyncGenerator<GraphNode<T>> {
    const maxDepth = options.depth ?? Infinity
    const stack: Array<{ cid: CID, depth: number, path: CID[] }> = [{ cid: root, depth: 0, path: [root] }]
    while (stack.length > 0) {
      const { cid, depth, path } = stack.pop() as { cid: CID, depth: number, path: CID[] }
      options.signal?.throwIfAborted()
      if (cid.code === raw.code && await this.c.blockstore.has(cid, options)) {
        yield { block: createUnsafe({ cid, bytes: NO_BYTES, codec: raw }) as GraphNode<T>['block'], depth, path }
        continue
      }
      const bytes = await toBuffer(this.c.blockstore.get(cid, options))
      const block = createUnsafe({ cid, bytes, codec: await this.c.getCodec(cid.code) })
      if (depth < maxDepth) {
        const children: Array<{ cid: CID, depth: number, path: CID[] }> = []
        for (const [, link] of block.links()) {
          if (options.includeChild?.(link, block as GraphNode<T>['block']) === false) continue
          children.push({ cid: link, depth: depth + 1, path: [...path, link] })
        }
        // reversed onto the stack: children come out in link order
        for (let i = children.length - 1; i >= 0; i--) stack.push(children[i] as { cid: CID, depth: number, path: CID[] })
      }
      yield { block: block as GraphNode<T>['block'], depth, path }
    }
  }
}
