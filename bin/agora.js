#!/usr/bin/env node
// The `agora` command. In a source checkout it runs src/ directly (Node 24
// strips the types); an installed package runs the compiled dist/. Plain
// JavaScript that any Node can parse, so an old Node gets a clear error —
// or, when a Node 24 is at hand (the `node` package, or on the PATH), the
// command runs again under it.
import { existsSync, readFileSync } from 'node:fs'
import * as nodeModule from 'node:module'
import { spawnSync } from 'node:child_process'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const args = process.argv.slice(2)

if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version + '\n')
  process.exit(0)
}

const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  const node24 = findNode24()
  if (node24 === undefined) {
    process.stderr.write(`Error [E605]: agora needs Node 24 — this is Node ${process.versions.node} — install Node 24, or run it through npm (\`npm start\`, \`npx agora\`), which puts the project's Node 24 first on the PATH\n`)
    process.exit(1)
  }
  const result = spawnSync(node24, [fileURLToPath(import.meta.url), ...args], { stdio: 'inherit' })
  process.exit(result.status ?? 1)
}

nodeModule.enableCompileCache?.()
const source = join(root, 'src', 'cli', 'main.ts')
const entry = existsSync(source) ? source : join(root, 'dist', 'cli', 'main.js')
await import(pathToFileURL(entry).href)

/** A Node ≥ 24 binary: the project's `node` package, else one on the PATH. */
function findNode24 () {
  const candidates = [join(root, 'node_modules', 'node', 'bin', 'node'), join(root, 'node_modules', '.bin', 'node')]
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir !== '') candidates.push(join(dir, 'node'))
  for (const candidate of candidates) {
    if (!existsSync(candidate)) continue
    const version = spawnSync(candidate, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout?.trim() ?? ''
    if (Number(version.split('.')[0]) >= 24) return candidate
  }
  return undefined
}
