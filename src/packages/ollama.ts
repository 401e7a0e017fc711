/**
 * An installed model package into Ollama's model store, so `ollama run
 * <model>` finds it: the GGUF file as the blob `blobs/sha256-<hex>` (hard
 * linked when on the same filesystem, else copied), a config blob, and the
 * manifest `manifests/registry.ollama.ai/library/<model>/<tag>` in Ollama's
 * format (a Docker distribution v2 manifest whose layers carry Ollama's
 * media types). Files named `template`, `system`, `params` (JSON) and
 * `license` (any extension) become their own layers.
 *
 * The manifest's sha256 names the blob — that is why publish records it.
 * The GGUF file is hashed again first: a wrong blob would break Ollama in
 * ways hard to trace back here.
 */
import { createHash } from 'node:crypto'
import { copyFile, link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, dirname, extname, join } from 'node:path'
import { AgoraError, messageOf } from '../errors.ts'
import { fileTarget } from './install/write-files.ts'
import { hashFile } from './install/verify.ts'
import type { Manifest, ManifestFile } from './manifest.ts'
import type { InstalledPackage } from './types.ts'

export const OLLAMA_MEDIA_TYPES = {
  manifest: 'application/vnd.docker.distribution.manifest.v2+json',
  config: 'application/vnd.docker.container.image.v1+json',
  model: 'application/vnd.ollama.image.model',
  template: 'application/vnd.ollama.image.template',
  system: 'application/vnd.ollama.image.system',
  params: 'application/vnd.ollama.image.params',
  license: 'application/vnd.ollama.image.license'
} as const

/** Ollama's registry host and namespace for local models. */
const REGISTRY_PATH = ['registry.ollama.ai', 'library']
const MODEL_NAME = /^([a-z0-9][a-z0-9._-]{0,63})(?::([A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?$/
const EXTRA_LAYERS = ['template', 'system', 'params', 'license'] as const

export interface OllamaExportInit {
  /** Ollama's models dir (default `$OLLAMA_MODELS` or `~/.ollama/models`). */
  modelsDir?: string
  /** `name[:tag]` (default: the package's name after the `/`, tag `latest`). */
  model?: string
}

export interface OllamaLayer {
  mediaType: string
  digest: string
  size: number
}

export interface OllamaManifest {
  schemaVersion: 2
  mediaType: typeof OLLAMA_MEDIA_TYPES.manifest
  config: OllamaLayer
  layers: OllamaLayer[]
}

export function defaultModelsDir (): string {
  const fromEnv = process.env.OLLAMA_MODELS
  return fromEnv !== undefined && fromEnv !== '' ? fromEnv : join(homedir(), '.ollama', 'models')
}

/** `name:tag` Ollama will know the model by. */
export function ollamaModelName (manifest: Manifest, model?: string): { name: string, tag: string } {
  const wanted = model ?? manifest.name.split('/')[1] ?? manifest.name
  const match = MODEL_NAME.exec(wanted)
  if (match === null) throw new AgoraError('E1452', `${wanted} is not an Ollama model name`)
  return { name: match[1] as string, tag: match[2] ?? 'latest' }
}

/** The GGUF file of a model package (the largest, when there are several), or E1450. */
export function ggufFile (manifest: Manifest): ManifestFile {
  if (manifest.kind !== 'model') {
    throw new AgoraError('E1450', `${manifest.name}@${manifest.version} is not a model package`, { why: `its kind is ${manifest.kind}` })
  }
  const gguf = manifest.files
    .filter(file => file.mediaType === OLLAMA_MEDIA_TYPES.model || extname(file.path).toLowerCase() === '.gguf')
    .sort((a, b) => b.size - a.size)[0]
  if (gguf === undefined) throw new AgoraError('E1450', `${manifest.name}@${manifest.version} has no .gguf file`)
  return gguf
}

export async function exportOllama (installed: InstalledPackage, manifest: Manifest, init: OllamaExportInit = {}): Promise<{ model: string, modelsDir: string, manifestPath: string }> {
  const model = ggufFile(manifest)
  const { name, tag } = ollamaModelName(manifest, init.model)
  const modelsDir = init.modelsDir ?? defaultModelsDir()
  const source = fileTarget(installed.dir, model.path)
  const actual = await hashFile(source).catch(() => undefined)
  if (actual !== model.sha256) {
    throw new AgoraError('E1449', `${model.path} of ${manifest.name}@${manifest.version} no longer matches its manifest`, { why: actual === undefined ? 'the file is missing' : `its sha256 is ${actual}` })
  }
  try {
    const layers: OllamaLayer[] = [await placeBlob(modelsDir, source, model, OLLAMA_MEDIA_TYPES.model)]
    for (const kind of EXTRA_LAYERS) {
      const file = manifest.files.find(f => f !== model && basename(f.path, extname(f.path)).toLowerCase() === kind)
      if (file !== undefined) layers.push(await placeBlob(modelsDir, fileTarget(installed.dir, file.path), file, OLLAMA_MEDIA_TYPES[kind]))
    }
    const config = await writeBlob(modelsDir, new TextEncoder().encode(JSON.stringify(configOf(manifest, layers))), OLLAMA_MEDIA_TYPES.config)
    const ollamaManifest: OllamaManifest = { schemaVersion: 2, mediaType: OLLAMA_MEDIA_TYPES.manifest, config, layers }
    const manifestPath = join(modelsDir, 'manifests', ...REGISTRY_PATH, name, tag)
    await writeAtomically(manifestPath, new TextEncoder().encode(JSON.stringify(ollamaManifest)))
    return { model: `${name}:${tag}`, modelsDir, manifestPath }
  } catch (err) {
    if (err instanceof AgoraError) throw err
    throw new AgoraError('E1451', `could not write to Ollama's models dir ${modelsDir}`, { why: messageOf(err), cause: err })
  }
}

/** Ollama's image config: what `ollama show` reads (format, family, quantisation) and the layers' digests. */
function configOf (manifest: Manifest, layers: OllamaLayer[]): Record<string, unknown> {
  return {
    model_format: 'gguf',
    model_family: '',
    model_families: [],
    model_type: '',
    file_type: manifest.compat?.quantisation ?? '',
    architecture: process.arch === 'x64' ? 'amd64' : process.arch,
    os: process.platform,
    rootfs: { type: 'layers', diff_ids: layers.map(layer => layer.digest) }
  }
}

function blobPath (modelsDir: string, sha256: string): string {
  return join(modelsDir, 'blobs', `sha256-${sha256}`)
}

/** The file as a blob named by its sha256: kept when it is there already, else hard-linked, else copied. */
async function placeBlob (modelsDir: string, source: string, file: ManifestFile, mediaType: string): Promise<OllamaLayer> {
  const target = blobPath(modelsDir, file.sha256)
  const layer = { mediaType, digest: `sha256:${file.sha256}`, size: file.size }
  if ((await stat(target).catch(() => undefined))?.size === file.size) return layer
  await mkdir(dirname(target), { recursive: true })
  const temp = `${target}.${process.pid}.partial`
  await rm(temp, { force: true })
  try {
    await link(source, temp)
  } catch {
    await copyFile(source, temp) // another filesystem (EXDEV) or no hard links here
  }
  await rename(temp, target)
  return layer
}

async function writeBlob (modelsDir: string, bytes: Uint8Array, mediaType: string): Promise<OllamaLayer> {
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  await writeAtomically(blobPath(modelsDir, sha256), bytes)
  return { mediaType, digest: `sha256:${sha256}`, size: bytes.byteLength }
}

async function writeAtomically (target: string, bytes: Uint8Array): Promise<void> {
  await mkdir(dirname(target), { recursive: true })
  const temp = `${target}.${process.pid}.partial`
  await writeFile(temp, bytes)
  await rename(temp, target)
}
