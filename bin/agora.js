#!/usr/bin/env node
// The `agora` command. In a source checkout it runs src/ directly (Node 24
// strips the types); an installed package runs the compiled dist/.
import { existsSync } from 'node:fs'
import * as nodeModule from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { dirname, join } from 'node:path'

const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`Error [E605]: agora needs Node 24 — this is Node ${process.versions.node} — install Node 24, or run it through npm (\`npm start\`, \`npx agora\`), which puts the project's Node 24 first on the PATH\n`)
  process.exit(1)
}
nodeModule.enableCompileCache?.()
const root = dirname(dirname(fileURLToPath(import.meta.url)))
const source = join(root, 'src', 'cli', 'main.ts')
const entry = existsSync(source) ? source : join(root, 'dist', 'cli', 'main.js')
await import(pathToFileURL(entry).href)
