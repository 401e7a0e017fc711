/**
 * The default config file `agora config init` writes: every key with its
 * default value, its description, what it allows and its env override, as
 * comments. It loads to exactly the defaults.
 */
import { stringify } from 'yaml'
import { configTree, isSection } from './keys.ts'
import type { LeafSpec, SectionSpec } from './keys.ts'
import { CONFIG_VERSION, VERSION_KEY } from './version.ts'

const WIDTH = 80

const HEADER = [
  'Agora configuration file.',
  '',
  'Every key is listed with its default value; keys you delete fall back to their defaults.',
  'Search order: --config <file>, ./agora.yaml, $XDG_CONFIG_HOME/agora/agora.yaml (~/.config/agora/agora.yaml), /etc/agora/agora.yaml; the first file found is used.',
  'Environment variables AGORA_<SECTION>_<KEY> override the file (e.g. AGORA_API_PORT=0, lists comma-separated), and command-line flags override both.',
  'Check a file with `agora config validate`; see where each value comes from with `agora config show --sources`.'
]

export function renderDefaultConfig (): string {
  const lines = [...comment(HEADER, '')]
  lines.push('', ...comment(['Format version of this file; `agora config migrate` brings an older file up to date.'], ''), `${VERSION_KEY}: ${CONFIG_VERSION}`)
  for (const child of configTree().children) {
    lines.push('')
    if (isSection(child)) renderSection(child, 0, lines)
    else renderLeaf(child, 0, lines)
  }
  return lines.join('\n') + '\n'
}

function renderSection (section: SectionSpec, depth: number, lines: string[]): void {
  const indent = '  '.repeat(depth)
  lines.push(...comment([section.description], indent))
  lines.push(`${indent}${section.path.at(-1) ?? ''}:`)
  section.children.forEach((child, i) => {
    if (i > 0) lines.push('')
    if (isSection(child)) renderSection(child, depth + 1, lines)
    else renderLeaf(child, depth + 1, lines)
  })
}

function renderLeaf (leaf: LeafSpec, depth: number, lines: string[]): void {
  const indent = '  '.repeat(depth)
  lines.push(...comment([leaf.description, `Allowed: ${leaf.allowed}.`, `Env: ${leaf.env}`], indent))
  const name = leaf.path.at(-1) ?? ''
  const text = stringify({ [name]: leaf.defaultValue }, { lineWidth: 0 }).trimEnd()
  lines.push(...text.split('\n').map(l => indent + l))
}

/** `# ` lines, wrapped to the page width. */
function comment (paragraphs: readonly string[], indent: string): string[] {
  const out: string[] = []
  const room = Math.max(40, WIDTH - indent.length - 2)
  for (const paragraph of paragraphs) {
    if (paragraph === '') {
      out.push(`${indent}#`)
      continue
    }
    let line = ''
    for (const word of paragraph.split(' ')) {
      if (line !== '' && line.length + 1 + word.length > room) {
        out.push(`${indent}# ${line}`)
        line = word
      } else {
        line = line === '' ? word : `${line} ${word}`
      }
    }
    if (line !== '') out.push(`${indent}# ${line}`)
  }
  return out
}
