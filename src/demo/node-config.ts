/**
 * The config file of each demo node, written into its data dir so a user can
 * read what makes the demo work: every node serves any peer (trust mode
 * public — the swarm is on loopback only), finds no engine on the usual
 * ports (so the demo behaves the same on every machine), and takes subtasks
 * whatever the machine's load. Roles add the echo engine, or turn off the
 * embedded one, or keep the gateway from running subtasks itself.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stringify } from 'yaml'
import type { DemoRole } from './constants.ts'

export const DEMO_CONFIG_FILE = 'agora.yaml'

/** The config of one demo node, as a plain object (what the YAML file holds). */
export function demoNodeConfig (name: string, role: DemoRole, modelsDir: string): Record<string, unknown> {
  return {
    node: { name: `demo-${name}` },
    access: { trustMode: 'public' },
    providers: {
      discovery: false,
      echo: { enabled: role === 'echo' },
      // one converted embeddings table for the whole demo
      wink: { enabled: role !== 'echo', cacheDir: modelsDir }
    },
    jobs: {
      // the gateway plans jobs and hands every subtask to the network
      slots: role === 'gateway' ? 0 : 4,
      // three nodes share one machine: its load is the demo's own
      maxCpuLoad: 0,
      minFreeMemoryMb: 0
    }
  }
}

/** Writes `<dataDir>/agora.yaml` and returns its path. */
export function writeDemoNodeConfig (dataDir: string, name: string, role: DemoRole, modelsDir: string, what: string): string {
  const file = join(dataDir, DEMO_CONFIG_FILE)
  writeFileSync(file, `# agora demo: ${name} — ${what}\n` + stringify(demoNodeConfig(name, role, modelsDir)), { mode: 0o600 })
  return file
}
