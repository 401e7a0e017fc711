/**
 * Processes the benchmarks measure against, each in its own OS process so
 * that what is measured does not share an event loop with the client that
 * measures it: fake OpenAI upstreams, a minimal Node reverse proxy, the two
 * floors under any Node proxy (a raw TCP pipe, a hand-rolled HTTP proxy),
 * nginx (when installed), and CPU / RSS readings from /proc. Every child exits
 * when `close()` is called; the Node children also when this process dies
 * (their stdin closes).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { createInterface } from 'node:readline'
import { request } from 'node:http'
import { ROOT } from '../test/harness/cli.ts'
import { waitFor } from '../test/harness/wait.ts'

export interface Child {
  url: string
  pid: number
  close(): void
}

export interface Upstreams {
  urls: string[]
  pid: number
  close(): void
}

/** Runs `code` (an ES module) in a child Node process; resolves to the first line it prints. */
async function startChild (code: string, what: string): Promise<{ line: string, child: ChildProcess, close: () => void }> {
  const child: ChildProcess = spawn(process.execPath, ['--input-type=module', '-e', `${code}\nprocess.stdin.on('end', () => process.exit(0)); process.stdin.resume()`], { stdio: ['pipe', 'pipe', 'inherit'] })
  const close = (): void => { if (child.exitCode === null) child.kill('SIGKILL') }
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream })
      lines.once('line', resolve)
      child.once('exit', code => { reject(new Error(`${what} exited (${code ?? 'signal'})`)) })
    })
    return { line, child, close }
  } catch (err) {
    close()
    throw err
  }
}

/** One fake OpenAI server per entry of `models`, in a child process, each answering chat after `delayMs` with `reply` (streamed one chunk per entry). */
export async function startUpstreams (models: string[][], delayMs: number, reply: string[] = ['ok']): Promise<Upstreams> {
  const fixture = pathToFileURL(join(ROOT, 'test', 'fixtures', 'fake-openai.ts')).href
  const { line, child, close } = await startChild(`
    const { startFakeOpenAI } = await import(${JSON.stringify(fixture)})
    const sets = ${JSON.stringify(models)}
    const servers = await Promise.all(sets.map(names => startFakeOpenAI({ models: names.map(name => ({ name, kind: 'chat' })), reply: ${JSON.stringify(reply)}, answerDelayMs: ${delayMs} })))
    console.log(JSON.stringify(servers.map(s => s.url)))`, 'the upstream process')
  return { urls: JSON.parse(line) as string[], pid: child.pid as number, close }
}

/** A minimal Node reverse proxy (node:http, keep-alive, piping): the cheapest thing a JS gateway could be. */
export async function startNodeProxy (target: string): Promise<Child> {
  const { line, child, close } = await startChild(`
    import { createServer, request, Agent } from 'node:http'
    const agent = new Agent({ keepAlive: true })
    const upstream = new URL(${JSON.stringify(target)})
    const server = createServer((req, res) => {
      const out = request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers, agent }, up => {
        res.writeHead(up.statusCode ?? 502, up.headers)
        up.pipe(res)
      })
      req.pipe(out)
    })
    server.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + server.address().port))`, 'the Node proxy')
  return { url: line.trim(), pid: child.pid as number, close }
}

/** Node's byte floor: a TCP pipe to the upstream, one upstream connection per client connection, no HTTP at all. */
export async function startTcpPipe (target: string): Promise<Child> {
  const { line, child, close } = await startChild(`
    import { createServer, connect } from 'node:net'
    const upstream = new URL(${JSON.stringify(target)})
    const server = createServer(client => {
      const up = connect(Number(upstream.port), upstream.hostname)
      client.setNoDelay(true)
      up.setNoDelay(true)
      client.pipe(up).pipe(client)
      client.on('error', () => up.destroy())
      up.on('error', () => client.destroy())
    })
    server.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + server.address().port))`, 'the TCP pipe')
  return { url: line.trim(), pid: child.pid as number, close }
}

/**
 * The least any JavaScript HTTP proxy of JSON can do: HTTP/1.1 framed by hand
 * on node:net (content-length bodies only, no limits, no validation), the
 * request and the answer each parsed and the request re-serialised, as a
 * gateway must to route and meter. A measuring stick, not a usable proxy.
 */
export async function startHandRolledProxy (target: string): Promise<Child> {
  const { line, child, close } = await startChild(`
    import { createServer, connect } from 'node:net'
    const upstream = new URL(${JSON.stringify(target)})
    const idle = []
    const onMessages = (socket, onMessage) => {
      let buffered = Buffer.alloc(0)
      socket.on('data', data => {
        buffered = buffered.length === 0 ? data : Buffer.concat([buffered, data])
        for (;;) {
          const end = buffered.indexOf('\\r\\n\\r\\n')
          if (end < 0) return
          const head = buffered.toString('latin1', 0, end)
          const length = Number(/content-length:\\s*(\\d+)/i.exec(head)?.[1] ?? 0)
          if (buffered.length < end + 4 + length) return
          const body = buffered.subarray(end + 4, end + 4 + length)
          buffered = buffered.subarray(end + 4 + length)
          onMessage(head, body)
        }
      })
    }
    const server = createServer(client => {
      client.setNoDelay(true)
      onMessages(client, (head, body) => {
        const [method, path] = head.slice(0, head.indexOf(' HTTP/')).split(' ')
        const request = JSON.stringify(JSON.parse(body.toString()))
        let up = idle.pop()
        if (up === undefined) {
          up = connect(Number(upstream.port), upstream.hostname)
          up.setNoDelay(true)
          const socket = up
          up.on('close', () => { if (idle.includes(socket)) idle.splice(idle.indexOf(socket), 1) })
        }
        up.removeAllListeners('data')
        up.removeAllListeners('error')
        up.on('error', () => client.destroy())
        onMessages(up, (answerHead, answer) => {
          JSON.parse(answer.toString())
          idle.push(up)
          client.write(answerHead.slice(0, answerHead.indexOf('\\r\\n')) + '\\r\\ncontent-type: application/json\\r\\ncontent-length: ' + answer.length + '\\r\\n\\r\\n')
          client.write(answer)
        })
        up.write(method + ' ' + path + ' HTTP/1.1\\r\\nhost: ' + upstream.host + '\\r\\ncontent-type: application/json\\r\\ncontent-length: ' + Buffer.byteLength(request) + '\\r\\n\\r\\n' + request)
      })
    })
    server.listen(0, '127.0.0.1', () => console.log('http://127.0.0.1:' + server.address().port))`, 'the hand-rolled proxy')
  return { url: line.trim(), pid: child.pid as number, close }
}

/** nginx as a reverse proxy with upstream keep-alive, when installed (apt-get install nginx); undefined otherwise. */
export async function startNginx (target: string): Promise<Child | undefined> {
  if (spawnSync('nginx', ['-v']).status !== 0) return undefined
  const dir = mkdtempSync(join(tmpdir(), 'agora-nginx-'))
  const port = 20000 + Math.floor(Math.random() * 20000)
  writeFileSync(join(dir, 'nginx.conf'), `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events { worker_connections 256; }
http { access_log off; upstream up { server ${new URL(target).host}; keepalive 32; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; } } }`)
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' })
  const close = (): void => {
    // the workers outlive a killed master: kill them all (nginx reads no stdin to notice we are gone)
    if (child.exitCode === null && child.pid !== undefined) {
      for (const pid of processTree(child.pid)) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }
  const url = `http://127.0.0.1:${port}`
  try {
    await waitFor('nginx to listen', () => new Promise<boolean>(resolve => {
      const req = request(`${url}/v1/models`, res => { res.resume(); resolve(true) })
      req.on('error', () => { resolve(false) })
      req.end()
    }), { timeoutMs: 5000 })
  } catch (err) {
    close()
    throw err
  }
  return { url, pid: child.pid as number, close }
}

/** A process and its direct children (nginx's workers). */
export function processTree (pid: number): number[] {
  const pids = [pid]
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
      if (Number(fields[1]) === pid) pids.push(Number(entry))
    } catch {
      // gone meanwhile
    }
  }
  return pids
}

/** CPU time (user + system, all threads) of a process so far, ms; 0 once it is gone. */
export function processCpuMs (pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? []
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return 0
  }
}

/** Resident memory of a process, MiB (NaN once it is gone). */
export function processRssMiB (pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find(l => l.startsWith('VmRSS:'))
    return Number(line?.split(/\s+/)[1]) / 1024
  } catch {
    return Number.NaN
  }
}
