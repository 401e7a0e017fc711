/**
 * Examples and "see also" for every command's --help (and `agora examples`):
 * two or three command lines that run as written, and where to look next.
 * A unit test checks that every command has its entry.
 */
import type { Command } from 'commander'

interface HelpEntry {
  examples: string[]
  seeAlso: string[]
}

const P = '12D3KooWExamplePeerExamplePeerExamplePeerExample'

export const HELP: Record<string, HelpEntry> = {
  start: { examples: ['agora start', 'agora start --detach --api-port 0', 'agora start --listen /ip4/0.0.0.0/tcp/41145 --bootstrap /ip4/192.0.2.7/tcp/41145/p2p/<peer id>'], seeAlso: ['status', 'stop', 'doctor'] },
  stop: { examples: ['agora stop', 'agora stop --timeout 60'], seeAlso: ['start', 'restart'] },
  restart: { examples: ['agora restart', 'agora restart --log-level debug'], seeAlso: ['start', 'stop'] },
  status: { examples: ['agora status', 'agora s --json', 'agora status --detailed'], seeAlso: ['peers list', 'doctor'] },
  identity: { examples: ['agora identity show', 'agora identity export --out node.pem'], seeAlso: ['keys'] },
  'identity show': { examples: ['agora identity show', 'agora identity show --json'], seeAlso: ['identity export'] },
  'identity export': { examples: ['agora identity export --out node.pem', 'agora identity export > node.pem'], seeAlso: ['identity import'] },
  'identity import': { examples: ['agora identity import node.pem', 'agora identity import node.pem --force --yes'], seeAlso: ['identity export'] },
  peers: { examples: ['agora peers ls', 'agora peers connect /ip4/192.0.2.7/tcp/41145/p2p/<peer id>'], seeAlso: ['status'] },
  'peers list': { examples: ['agora peers ls', 'agora peers list --all --sort reputation'], seeAlso: ['peers info'] },
  'peers info': { examples: [`agora peers info ${P}`], seeAlso: ['peers list'] },
  'peers connect': { examples: ['agora peers connect /ip4/192.0.2.7/tcp/41145/p2p/<peer id>', `agora peers connect ${P}`], seeAlso: ['peers disconnect', 'doctor'] },
  'peers disconnect': { examples: [`agora peers disconnect ${P}`, 'agora peers disconnect --yes'], seeAlso: ['peers connect'] },
  'peers remove': { examples: [`agora peers remove ${P}`, `agora peers rm ${P} --json`], seeAlso: ['peers disconnect', 'peers ban'] },
  'peers trust': { examples: [`agora peers trust ${P}`], seeAlso: ['access set', 'peers untrust'] },
  'peers untrust': { examples: [`agora peers untrust ${P}`], seeAlso: ['peers trust'] },
  'peers ban': { examples: [`agora peers ban ${P} --reason spam --yes`, `agora peers ban ${P} --for 60 --yes`], seeAlso: ['peers unban'] },
  'peers unban': { examples: [`agora peers unban ${P}`], seeAlso: ['peers ban'] },
  'peers ping': { examples: [`agora peers ping ${P}`], seeAlso: ['peers info'] },
  invite: { examples: ['agora invite', 'agora invite --expires 7d', 'agora invite --psk --expires 30m'], seeAlso: ['join', 'bootstrap list'] },
  join: { examples: ['agora join agora-invite:1:eyJ2Ijox…', 'agora join agora-invite:1:eyJ2Ijox… --trust --json'], seeAlso: ['invite', 'bootstrap test'] },
  bootstrap: { examples: ['agora bootstrap list', 'agora bootstrap test'], seeAlso: ['join', 'doctor'] },
  'bootstrap list': { examples: ['agora bootstrap ls', 'agora bootstrap list --json'], seeAlso: ['bootstrap add', 'bootstrap test'] },
  'bootstrap add': { examples: ['agora bootstrap add /ip4/192.0.2.7/tcp/41145/p2p/<peer id>'], seeAlso: ['bootstrap remove', 'join'] },
  'bootstrap remove': { examples: ['agora bootstrap remove /ip4/192.0.2.7/tcp/41145/p2p/<peer id>', `agora bootstrap rm ${P}`], seeAlso: ['bootstrap add'] },
  'bootstrap test': { examples: ['agora bootstrap test', 'agora bootstrap test --json'], seeAlso: ['bootstrap list', 'doctor'] },
  offers: { examples: ['agora offers ls', 'agora offers local'], seeAlso: ['models'] },
  'offers list': { examples: ['agora offers ls', 'agora offers list --task-type text.embed'], seeAlso: ['offers show'] },
  'offers show': { examples: ['agora offers show <offer id>'], seeAlso: ['offers list'] },
  'offers local': { examples: ['agora offers local', 'agora offers local --json'], seeAlso: ['offers announce'] },
  'offers withdraw': { examples: ['agora offers withdraw --yes'], seeAlso: ['offers announce'] },
  'offers announce': { examples: ['agora offers announce'], seeAlso: ['offers withdraw', 'offers local'] },
  models: { examples: ['agora models', 'agora models ls --json'], seeAlso: ['chat', 'embed'] },
  'models list': { examples: ['agora models ls', 'agora models list --json'], seeAlso: ['offers list'] },
  keys: { examples: ['agora keys create my-app', 'agora keys ls'], seeAlso: ['access'] },
  'keys create': { examples: ['agora keys create my-app'], seeAlso: ['keys list'] },
  'keys list': { examples: ['agora keys ls', 'agora keys list --json'], seeAlso: ['keys revoke'] },
  'keys revoke': { examples: ['agora keys revoke my-app --yes'], seeAlso: ['keys list'] },
  chat: { examples: ['agora chat llama3.2:3b "Say hello"', 'agora chat llama3.2:3b "Summarise this" --system "Answer in one sentence"'], seeAlso: ['models', 'embed'] },
  embed: { examples: ['agora embed agora/wink-embed-100d "hello world"', 'agora embed agora/wink-embed-100d --file notes.txt'], seeAlso: ['models', 'chat'] },
  requests: { examples: ['agora requests ls', 'agora requests list --model llama3.2:3b'], seeAlso: ['requests show'] },
  'requests list': { examples: ['agora requests ls', 'agora requests list --limit 20 --json'], seeAlso: ['requests show'] },
  'requests show': { examples: ['agora requests show <request id>'], seeAlso: ['requests list'] },
  providers: { examples: ['agora providers ls', 'agora providers add local --kind ollama --url http://127.0.0.1:11434'], seeAlso: ['models'] },
  'providers list': { examples: ['agora providers ls', 'agora providers list --json'], seeAlso: ['providers test'] },
  'providers add': { examples: ['agora providers add local --kind ollama --url http://127.0.0.1:11434', 'agora providers add studio --kind openai --url http://127.0.0.1:1234/v1'], seeAlso: ['providers test', 'providers remove'] },
  'providers remove': { examples: ['agora providers remove local'], seeAlso: ['providers add'] },
  'providers test': { examples: ['agora providers test local'], seeAlso: ['providers list'] },
  access: { examples: ['agora access show', 'agora access set friends'], seeAlso: ['peers trust'] },
  'access show': { examples: ['agora access show', 'agora access show --json'], seeAlso: ['access set'] },
  'access set': { examples: ['agora access set public', 'agora access set friends'], seeAlso: ['access show', 'peers trust'] },
  jobs: { examples: ['agora jobs submit --type summarize --file report.txt --wait', 'agora jobs ls'], seeAlso: ['jobs types'] },
  'jobs submit': { examples: ['agora jobs submit --type summarize --file report.txt --wait', 'agora jobs submit --type text.embed --file notes.txt --budget 2'], seeAlso: ['jobs types', 'jobs watch'] },
  'jobs list': { examples: ['agora jobs ls', 'agora jobs list --state running'], seeAlso: ['jobs show'] },
  'jobs show': { examples: ['agora jobs show <job id>', 'agora jobs show <job id> --json'], seeAlso: ['jobs watch', 'jobs result'] },
  'jobs watch': { examples: ['agora jobs watch <job id>'], seeAlso: ['jobs show'] },
  'jobs result': { examples: ['agora jobs result <job id>', 'agora jobs result <job id> --output result.json'], seeAlso: ['jobs show'] },
  'jobs cancel': { examples: ['agora jobs cancel <job id> --yes'], seeAlso: ['jobs list'] },
  'jobs types': { examples: ['agora jobs types'], seeAlso: ['jobs submit'] },
  wallet: { examples: ['agora wallet', 'agora wallet history'], seeAlso: ['market'] },
  'wallet show': { examples: ['agora wallet show', 'agora wallet show --json'], seeAlso: ['wallet history'] },
  'wallet history': { examples: ['agora wallet history', 'agora wallet history --limit 50 --json'], seeAlso: ['wallet show'] },
  'wallet limits': { examples: ['agora wallet limits', `agora wallet limits ${P} 50`], seeAlso: ['wallet show'] },
  'wallet reconcile': { examples: [`agora wallet reconcile ${P}`], seeAlso: ['wallet show'] },
  market: { examples: ['agora market contracts', 'agora market need --task-type text.embed --quantity 10 --budget 5 --deadline 10m'], seeAlso: ['wallet'] },
  'market need': { examples: ['agora market need --task-type text.embed --quantity 10 --budget 5 --deadline 10m', 'agora market need --task-type text.embed --quantity 10 --budget 5 --deadline 10m --wait'], seeAlso: ['market proposals', 'market decide'] },
  'market needs': { examples: ['agora market needs', 'agora market needs --json'], seeAlso: ['market need'] },
  'market proposals': { examples: ['agora market proposals <need id>'], seeAlso: ['market decide'] },
  'market decide': { examples: ['agora market decide <need id>', `agora market decide <need id> ${P}`], seeAlso: ['market proposals'] },
  'market withdraw': { examples: ['agora market withdraw <need id>'], seeAlso: ['market needs'] },
  'market request': { examples: ['agora market request <offer id> --what text.embed --quantity 10 --max-price 0.05'], seeAlso: ['market contracts', 'offers list'] },
  'market contracts': { examples: ['agora market contracts', 'agora market contracts --json'], seeAlso: ['market pending'] },
  'market pending': { examples: ['agora market pending'], seeAlso: ['market accept', 'market reject'] },
  'market accept': { examples: ['agora market accept <contract id>'], seeAlso: ['market pending'] },
  'market reject': { examples: ['agora market reject <contract id> --reason capacity'], seeAlso: ['market pending'] },
  'market cancel': { examples: ['agora market cancel <contract id>'], seeAlso: ['market contracts'] },
  verify: { examples: ['agora verify', 'agora verify status --json'], seeAlso: ['jobs show'] },
  'verify status': { examples: ['agora verify status', 'agora verify status --json'], seeAlso: ['jobs show'] },
  pkg: { examples: ['agora pkg search summarize', 'agora pkg install acme/summarize-prompts@^1.2'], seeAlso: ['pkg publish', 'pkg list'] },
  'pkg publish': { examples: ['agora pkg publish ./prompts --name acme/summarize-prompts --version 1.2.0 --kind prompt --license MIT --tags summarize,en', 'agora pkg publish ./llama-3b-q4.gguf --name acme/llama-3b-q4 --version 1.0.0 --kind model --engine llama.cpp --quantisation Q4_K_M --context-length 8192'], seeAlso: ['pkg search', 'pkg info'] },
  'pkg search': { examples: ['agora pkg search summarize', 'agora pkg search llama --kind model --limit 10 --timeout 3s', 'agora pkg search summarize --json'], seeAlso: ['pkg info', 'pkg install'] },
  'pkg info': { examples: ['agora pkg info acme/summarize-prompts', 'agora pkg info acme/summarize-prompts@1.2.0 --json'], seeAlso: ['pkg install'] },
  'pkg install': { examples: ['agora pkg install acme/summarize-prompts@^1.2', 'agora pkg install acme/llama-3b-q4 --trust-publisher --pin'], seeAlso: ['pkg list', 'pkg verify'] },
  'pkg list': { examples: ['agora pkg ls', 'agora pkg list --json'], seeAlso: ['pkg verify', 'pkg gc'] },
  'pkg verify': { examples: ['agora pkg verify', 'agora pkg verify acme/summarize-prompts'], seeAlso: ['pkg list'] },
  'pkg remove': { examples: ['agora pkg remove acme/summarize-prompts', 'agora pkg rm acme/summarize-prompts@1.2.0 --json'], seeAlso: ['pkg gc', 'pkg list'] },
  'pkg pin': { examples: ['agora pkg pin acme/llama-3b-q4'], seeAlso: ['pkg unpin', 'pkg gc'] },
  'pkg unpin': { examples: ['agora pkg unpin acme/llama-3b-q4'], seeAlso: ['pkg pin', 'pkg gc'] },
  'pkg gc': { examples: ['agora pkg gc', 'agora pkg gc --json'], seeAlso: ['pkg pin', 'pkg list'] },
  'pkg export': { examples: ['agora pkg export acme/llama-3b-q4 --ollama', 'agora pkg export acme/llama-3b-q4 --ollama --model llama-3b:q4', 'agora pkg export acme/summarize-prompts --car out.car'], seeAlso: ['pkg import'] },
  'pkg import': { examples: ['agora pkg import out.car'], seeAlso: ['pkg export', 'pkg list'] },
  config: { examples: ['agora config init', 'agora config set log.level debug'], seeAlso: ['doctor'] },
  'config init': { examples: ['agora config init', 'agora config init --path ./agora.yaml', 'agora config init --interactive'], seeAlso: ['config show', 'setup'] },
  'config reset': { examples: ['agora config reset --yes'], seeAlso: ['config init'] },
  'config show': { examples: ['agora config show', 'agora config show --sources'], seeAlso: ['config get'] },
  'config get': { examples: ['agora config get api.port', 'agora config get network.bootstrap', 'agora config get log.level --live'], seeAlso: ['config set'] },
  'config set': { examples: ['agora config set log.level debug', 'agora config set network.bootstrap /ip4/192.0.2.7/tcp/41145/p2p/<peer id>', 'agora config set offers.prices.perTask 0.01 --live'], seeAlso: ['config get', 'config show'] },
  'config migrate': { examples: ['agora config migrate --dry-run', 'agora config migrate'], seeAlso: ['config validate', 'changelog'] },
  'config validate': { examples: ['agora config validate', 'agora config validate ./agora.yaml'], seeAlso: ['config show'] },
  'config path': { examples: ['agora config path'], seeAlso: ['config show'] },
  setup: { examples: ['agora setup', 'agora setup --config ./agora.yaml --data-dir /tmp/a'], seeAlso: ['config init', 'config set', 'identity import'] },
  doctor: { examples: ['agora doctor', 'agora doctor --json'], seeAlso: ['status', 'config validate'] },
  service: { examples: ['sudo agora service install', 'sudo agora service uninstall --yes'], seeAlso: ['start'] },
  'service install': { examples: ['sudo agora service install', 'agora service install --path ./agora.service --user agora'], seeAlso: ['service uninstall'] },
  'service uninstall': { examples: ['sudo agora service uninstall --yes'], seeAlso: ['service install'] },
  logs: { examples: ['agora logs', 'agora logs -f --level warn', 'agora logs -n 200 --json'], seeAlso: ['status', 'doctor'] },
  demo: { examples: ['agora demo', 'agora demo --stop', 'agora demo --no-keep-running --json'], seeAlso: ['chat', 'jobs submit', 'start'] },
  changelog: { examples: ['agora changelog', 'agora changelog | less'], seeAlso: ['doctor'] },
  completion: { examples: ['agora completion bash >> ~/.bashrc', 'agora completion zsh > "${fpath[1]}/_agora"', 'agora completion fish > ~/.config/fish/completions/agora.fish'], seeAlso: ['examples'] },
  // hidden: what the completion scripts run
  __complete: { examples: ['agora __complete jobs show ""'], seeAlso: ['completion'] },
  examples: { examples: ['agora examples', 'agora examples | grep jobs'], seeAlso: ['jobs', 'market'] }
}

/** The command's path under `agora`, e.g. `jobs submit`. */
export function commandPath (cmd: Command): string {
  const parts: string[] = []
  for (let c: Command | null = cmd; c?.parent != null; c = c.parent) parts.unshift(c.name())
  return parts.join(' ')
}

/** Append "Examples" and "See also" to each command's help. */
export function addHelpExamples (commands: Command[]): void {
  for (const cmd of commands) {
    // a flag the command cannot run without says so in the help
    for (const option of cmd.options) if (option.mandatory && !option.description.endsWith('(required)')) option.description += ' (required)'
    const entry = HELP[commandPath(cmd)]
    if (entry === undefined) continue
    cmd.addHelpText('after', `\nExamples:\n${entry.examples.map(e => `  $ ${e}`).join('\n')}\n\nSee also: ${entry.seeAlso.map(s => `agora ${s}`).join(', ')}\n`)
  }
}

/** `agora examples`: the common tasks, one line each. */
export function examplesText (): string {
  const tasks: Array<[string, string]> = [
    ['run a node', 'agora start'],
    ['see how it is', 'agora status'],
    ['try a local 3-node swarm', 'agora demo'],
    ['connect a peer', 'agora peers connect /ip4/192.0.2.7/tcp/41145/p2p/<peer id>'],
    ['invite a node from off this LAN', 'agora invite'],
    ['join a network by invite', 'agora join <invite>'],
    ['add a local engine', 'agora providers add local --kind ollama --url http://127.0.0.1:11434'],
    ['list the network\'s models', 'agora models'],
    ['chat with a model', 'agora chat llama3.2:3b "Say hello"'],
    ['embed a text', 'agora embed agora/wink-embed-100d "hello world"'],
    ['give an app a key for /v1', 'agora keys create my-app'],
    ['split a document over the network', 'agora jobs submit --type summarize --file report.txt --wait'],
    ['see the wallet', 'agora wallet'],
    ['put work out to auction', 'agora market need --task-type text.embed --quantity 10 --budget 5 --deadline 10m'],
    ['find and install a package', 'agora pkg search summarize; agora pkg install acme/summarize-prompts@^1.2'],
    ['check the machine', 'agora doctor'],
    ['run as a service', 'sudo agora service install']
  ]
  const width = Math.max(...tasks.map(([what]) => what.length))
  return tasks.map(([what, cmd]) => `${what.padEnd(width)}   ${cmd}`).join('\n') + '\n'
}
