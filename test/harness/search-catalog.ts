/**
 * Package catalogues for search tests and the search benchmark: manifests
 * with realistic names, descriptions and tags (seeded, so a run can be
 * replayed), signed by a real key and stored through the real repository.
 * The files are placeholders (search never fetches them).
 */
import type { NodeIdentity } from '../../src/identity/index.ts'
import type { Manifest, PackageKind } from '../../src/packages/manifest.ts'
import { signPackage } from '../../src/packages/package-envelope.ts'
import type { PackageRepository } from '../../src/packages/repository.ts'
import type { Envelope } from '../../src/identity/index.ts'

/** A raw-leaf CID (of "hello"), standing in for a file's UnixFS root. */
export const PLACEHOLDER_FILE_CID = 'bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq'

/** A valid manifest by `publisher`, fields overridden by `over`. */
export function manifestFor (publisher: string, over: Partial<Manifest> = {}): Manifest {
  return {
    v: 1,
    name: 'acme/summarize-prompts',
    version: '1.0.0',
    kind: 'prompt',
    description: 'Prompts that summarise a text in three lines',
    license: 'MIT',
    tags: ['summarize', 'en'],
    created: 1_760_000_000_000,
    publisher,
    files: [{ path: 'prompt.txt', cid: PLACEHOLDER_FILE_CID, size: 5, sha256: 'a'.repeat(64), mediaType: 'text/plain' }],
    dependencies: {},
    ...over
  }
}

/** Sign a manifest with `identity` (its publisher) and store it as the catalogue would; its CID. */
export async function storeSigned (repo: PackageRepository, identity: NodeIdentity, over: Partial<Manifest> = {}, receivedAt = Date.now()): Promise<{ cid: string, envelope: Envelope }> {
  const manifest = manifestFor(identity.peerIdString, over)
  const { envelope, cid, bytes } = await signPackage(identity, manifest)
  repo.put({ cid: cid.toString(), manifest, envelope, bytes }, receivedAt, repo.owners(manifest.name).length === 0 ? [identity.peerIdString] : undefined)
  return { cid: cid.toString(), envelope }
}

const SUBJECTS = ['summarize', 'translate', 'classify', 'extract', 'rewrite', 'chat', 'code-review', 'sql', 'sentiment', 'ocr', 'rag', 'agent', 'router', 'embed', 'vision', 'speech', 'legal', 'medical', 'finance', 'support']
const LANGS = ['en', 'de', 'fr', 'es', 'ja', 'zh', 'pt', 'it', 'nl', 'ko']
const FAMILIES = ['llama', 'mistral', 'qwen', 'phi', 'gemma', 'falcon', 'olmo', 'granite']
const ADJECTIVES = ['fast', 'small', 'careful', 'strict', 'friendly', 'long-context', 'multilingual', 'tiny', 'robust', 'cheap']
const NOUNS = ['prompts', 'templates', 'adapter', 'pack', 'tools', 'dataset', 'evals', 'policy', 'jobs', 'agent']
const KINDS: readonly PackageKind[] = ['prompt', 'agent', 'tool', 'model', 'adapter', 'dataset', 'eval', 'policy', 'job-template', 'other']

function pick<T> (random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T
}

/**
 * The `i`-th synthetic manifest's fields (name unique per i): a subject, a
 * model family, a language, a kind; descriptions and tags from the same words.
 */
export function syntheticFields (random: () => number, i: number): Partial<Manifest> {
  const subject = pick(random, SUBJECTS)
  const family = pick(random, FAMILIES)
  const lang = pick(random, LANGS)
  const adjective = pick(random, ADJECTIVES)
  const noun = pick(random, NOUNS)
  return {
    name: `pub${i % 97}/${subject}-${family}-${noun}-${i}`,
    version: `${1 + Math.floor(random() * 3)}.${Math.floor(random() * 12)}.${Math.floor(random() * 20)}`,
    kind: pick(random, KINDS),
    description: `A ${adjective} ${subject} ${noun} for ${family} models, in ${lang}; tested on ${pick(random, SUBJECTS)} and ${pick(random, SUBJECTS)} tasks.`,
    tags: [subject, lang, family, adjective],
    created: 1_760_000_000_000 + i * 1000
  }
}
