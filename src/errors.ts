/**
 * Error classes and the stable error-code table.
 *
 * Every error a user or a peer can see carries a code (`E123`), an HTTP status
 * and a hint saying what to do. Codes are grouped by room:
 *   E1xx identity and envelopes   E2xx network and protocols
 *   E3xx configuration            E4xx store
 *   E5xx control API              E6xx CLI and process
 *   E7xx providers                E8xx offers
 *   E9xx inference gateway        E10xx jobs
 *   E11xx market (credits, ledger, contracts, payments)
 *   E12xx verification            E13xx echo engine and demo, invites, CLI tools
 * Codes never change meaning once published; add new ones instead.
 */

export interface ErrorSpec {
  /** HTTP status the control API answers with. */
  readonly status: number
  /** One-line default hint: what the user can do about it. */
  readonly hint: string
}

export const ERROR_CODES = {
  // identity and envelopes
  E100: { status: 500, hint: 'check the identity key file, or move it aside and run `agora identity import`' },
  E101: { status: 400, hint: 'export a key with `agora identity export` and import that PEM file' },
  E102: { status: 409, hint: 'an identity key already exists; pass --force to replace it (the old peer id is lost unless you exported it)' },
  E103: { status: 400, hint: 'an Ed25519 did:key looks like did:key:z6Mk…' },
  E110: { status: 400, hint: 'the envelope could not be decoded; the sender runs an incompatible or broken client' },
  E111: { status: 413, hint: 'send a smaller message' },
  E112: { status: 401, hint: 'the signature does not match the sender key; the message was forged or altered' },
  E113: { status: 400, hint: 'the message was signed for another kind or domain; it is not valid here' },
  E114: { status: 409, hint: 'this nonce was seen before; every message needs a fresh nonce' },
  E115: { status: 400, hint: 'the message is too old; check the sender clock (NTP)' },
  E116: { status: 400, hint: 'the message is dated in the future; check the sender clock (NTP)' },
  E117: { status: 400, hint: 'the message is addressed to another node' },
  // network and protocols
  E200: { status: 400, hint: 'use a multiaddr such as /ip4/127.0.0.1/tcp/41145/p2p/12D3KooW…' },
  E201: { status: 409, hint: 'pick another port: `--api-port 0` or `--listen /ip4/0.0.0.0/tcp/0` chooses a free one' },
  E202: { status: 502, hint: 'check that the peer is running and reachable at that address' },
  E203: { status: 404, hint: 'connect to the peer first with `agora peers connect <multiaddr>`' },
  E204: { status: 504, hint: 'the peer did not answer in time; it may be overloaded or gone' },
  E205: { status: 502, hint: 'the peer sent a malformed or oversized frame; it was dropped' },
  E206: { status: 429, hint: 'slow down: too many messages in a short time' },
  E207: { status: 502, hint: 'the remote refused the request; see the message for its reason' },
  E208: { status: 400, hint: 'network.psk must name a libp2p swarm key file: three lines, /key/swarm/psk/1.0.0/, /base16/ and 64 hex digits' },
  E209: { status: 400, hint: 'use one of the agora gossip topics: /agora/offers/1, /agora/needs/1, /agora/packages/1, /agora/verify/1' },
  E210: { status: 503, hint: 'no connected peer follows this topic yet; wait for peers (see `agora peers`) and retry' },
  E220: { status: 400, hint: 'a peer id looks like 12D3KooW… (see `agora peers list`)' },
  // configuration
  E300: { status: 400, hint: 'fix the value as described, then run `agora config validate`' },
  E301: { status: 400, hint: 'remove the key or correct its spelling' },
  E302: { status: 400, hint: 'fix the YAML syntax at the line shown' },
  E303: { status: 404, hint: 'run `agora config init` to create one, or pass --config <file>' },
  E304: { status: 409, hint: 'the file exists; pass --force to overwrite it' },
  E305: { status: 500, hint: 'choose a config file path you can write to, or fix its permissions' },
  // store
  E400: { status: 500, hint: 'check that the data dir is on a writable disk with free space' },
  E401: { status: 500, hint: 'the database was written by a newer agora; upgrade agora' },
  // control API
  E500: { status: 401, hint: 'pass the token from <data-dir>/api.token as `Authorization: Bearer <token>`' },
  E501: { status: 403, hint: 'call the API on its own loopback address; foreign Host and Origin headers are refused' },
  E502: { status: 400, hint: 'fix the request body as described' },
  E503: { status: 404, hint: 'see the API reference in docs/api.md' },
  E504: { status: 503, hint: 'the node is starting or stopping; try again in a moment' },
  E505: { status: 404, hint: 'list what exists with the matching `list` command' },
  E599: { status: 500, hint: 'this is a bug; run with --verbose and report the output' },
  // CLI and process
  E600: { status: 400, hint: 'see `agora --help`' },
  E601: { status: 503, hint: 'start one with `agora start --detach` (same --data-dir), or check AGORA_DATA_DIR' },
  E602: { status: 409, hint: 'stop it first with `agora stop`, or use another --data-dir' },
  E603: { status: 400, hint: 'choose a data dir you can write to, or fix its permissions' },
  E604: { status: 504, hint: 'see the log in <data-dir>/logs/ for why it did not come up' },
  E605: { status: 400, hint: 'install Node 24 (npm install puts it on the PATH of npm scripts)' },
  E606: { status: 500, hint: 'fix what the detail column says, then run `agora doctor` again' },
  E607: { status: 400, hint: 'type yes when asked, or pass --yes (-y) to confirm up front' },
  // providers
  E700: { status: 503, hint: 'the inference engine is not available or failed; see the node log, or disable it in the providers config section' },
  E701: { status: 429, hint: 'the engine is busy: too many calls are waiting; retry later or raise its queue limit' },
  E702: { status: 413, hint: 'send less: fewer or shorter inputs per call' },
  E703: { status: 499, hint: 'the call was cancelled before it finished' },
  E704: { status: 400, hint: 'fix the call arguments as described' },
  E705: { status: 502, hint: 'the inference engine sent a malformed answer; check its version and logs, or remove it with `agora providers remove <name>`' },
  E706: { status: 502, hint: 'the inference engine closed the connection before finishing the answer; it may have crashed or run out of memory: see its logs' },
  E707: { status: 502, hint: 'the inference engine refused the request; see its HTTP status and message (details.status)' },
  E708: { status: 503, hint: 'check that the engine is running and listening at that URL (`agora providers test <name>`)' },
  E709: { status: 400, hint: 'this model only serves embeddings; pick a chat model (see `agora models`)' },
  E710: { status: 400, hint: 'a provider needs a unique name (letters, digits, . _ -), --kind ollama or openai, an http(s) --url and optionally --api-key-env NAME' },
  E711: { status: 404, hint: 'see the providers with `agora providers list`' },
  E712: { status: 404, hint: 'this provider does not serve that model; see `agora models`' },
  // offers
  E800: { status: 400, hint: 'the offer does not match the offer schema; the sender runs an incompatible or broken client' },
  E801: { status: 413, hint: 'an offer may be at most offers.maxOfferBytes; advertise fewer models or tags' },
  E802: { status: 401, hint: 'the offer signature does not verify with its signer key; it was forged or altered' },
  E803: { status: 400, hint: 'an offer must be signed and sent by the node it describes (envelope from = offer node = gossip sender)' },
  E804: { status: 400, hint: 'the offer is past its expiry; its node must re-announce it' },
  E805: { status: 400, hint: 'an offer lives at most offers.ttlMs (plus clock skew); check the sender clock (NTP)' },
  E806: { status: 409, hint: 'an older Lamport than the offer already held for that node: a replay or a stale copy' },
  E807: { status: 429, hint: 'too many offer messages from one node (offers.perOriginPerMinute); announce less often' },
  E808: { status: 403, hint: 'the sending peer is banned; its messages are dropped until the ban ends' },
  E809: { status: 502, hint: 'the peer sent a malformed anti-entropy page; it was dropped and the sync round ended' },
  E810: { status: 409, hint: 'no provider serves a model or task type; start one (see `agora doctor`) and retry' },
  // gateway: access control and /agora/infer/1 (E900–E929)
  E900: { status: 403, hint: 'this node runs in private trust mode: only the node itself may use its compute (access.trustMode, `agora start --trust-mode`)' },
  E901: { status: 403, hint: 'this node serves only trusted peers (friends mode); ask its operator to `agora peers trust <your peer id>`' },
  E902: { status: 403, hint: 'this node has banned the calling peer; its requests are refused until the ban ends' },
  E903: { status: 403, hint: 'this node does not serve that model to peers (access.allowModels / access.denyModels)' },
  E904: { status: 429, hint: 'too many requests to this node (access.requestsPerMinute); retry after details.retryAfterMs' },
  E905: { status: 429, hint: 'too many tokens used on this node (access.tokensPerMinute); retry after details.retryAfterMs' },
  E910: { status: 504, hint: 'the peer could not be reached within gateway.timeouts.dialMs; it may be offline or behind a firewall' },
  E911: { status: 504, hint: 'the peer produced no first token within gateway.timeouts.firstTokenMs; try another peer' },
  E912: { status: 504, hint: 'the peer went silent between tokens for longer than gateway.timeouts.idleMs' },
  E913: { status: 504, hint: 'the remote request took longer than gateway.timeouts.totalMs' },
  E914: { status: 499, hint: 'the caller cancelled the remote request' },
  E915: { status: 502, hint: 'the peer answered out of protocol (missing or misplaced done, wrong vector count); it runs a broken or incompatible client' },
  E916: { status: 413, hint: 'the request exceeds the limits of /agora/infer/1 (messages, characters or inputs); send less' },
  // gateway: router and metering (E930–E959)
  E930: { status: 404, hint: 'no local provider or peer serves this model; see `agora models` or GET /v1/models (details.suggestions lists close names)' },
  E931: { status: 402, hint: 'every candidate costs more than X-Agora-Max-Price; raise it (details.cheapest) or run the model locally' },
  E932: { status: 503, hint: 'the strategy is local-only (or the target is local) and no local provider can serve the model; start one or allow peers' },
  E933: { status: 502, hint: 'every candidate failed before answering (details.errors); retry later or pick another model' },
  E934: { status: 503, hint: 'the candidates are unavailable right now (circuit breaker open or peer banned); retry after gateway.breakerCooldownMs' },
  E935: { status: 404, hint: 'the target named by X-Agora-Target or model@peer does not serve this model; drop the target or pick an owner from GET /v1/models' },
  E936: { status: 504, hint: 'the candidate produced no first token within gateway.timeouts.firstTokenMs; it was skipped for the next one' },
  E937: { status: 504, hint: 'the answer went silent for longer than gateway.timeouts.idleMs' },
  E938: { status: 504, hint: 'the request took longer than gateway.timeouts.totalMs' },
  E939: { status: 502, hint: 'the candidate ended its answer without a result; it was treated as a failure' },
  E940: { status: 499, hint: 'the client cancelled the request' },
  E941: { status: 400, hint: 'the model cannot do this: use /v1/chat/completions for chat models and /v1/embeddings for embedding models' },
  E950: { status: 402, hint: 'this peer charges for inference and the request carried no payment; the buyer\'s node must be an Agora version with a market (it holds the price and sends it along)' },
  // gateway: the OpenAI-compatible API and its keys (E960–E989)
  E960: { status: 401, hint: 'pass an API key as `Authorization: Bearer agk_…` (create one with `agora keys create <name>`); loopback clients need none while api.allowLocalWithoutKey is true' },
  E961: { status: 400, hint: 'fix the request as described; /v1 takes OpenAI\'s request format' },
  E962: { status: 400, hint: 'Agora does not support this option; leave it out' },
  E963: { status: 409, hint: 'an active API key already has this name; choose another or revoke it first (`agora keys revoke <name>`)' },
  E964: { status: 502, hint: 'the answer broke off upstream; retry the request' },
  // jobs: E1000–E1019 submission and planning, E1020–E1039 routing, E1040–E1059 dispatch and workers,
  // E1060–E1079 coordinator and store, E1080–E1099 API and CLI
  E1000: { status: 400, hint: 'run `agora jobs types` to list the job types this node knows' },
  E1001: { status: 400, hint: 'fix the named parameter; `agora jobs types` shows each type\'s parameters' },
  E1002: { status: 413, hint: 'pass the input as a file (`agora jobs submit --file F`), which is uploaded in chunks' },
  E1003: { status: 400, hint: 'the subtasks must form a DAG: remove the dependency cycle' },
  E1004: { status: 400, hint: 'give the job an input: --text, --file, or items' },
  E1005: { status: 499, hint: 'the subtask was cancelled (its job was cancelled or the attempt ran out of time); nothing to do' },
  E1006: { status: 400, hint: 'the subtask\'s input or params do not match its task type (`agora jobs types` shows them); the coordinator sent something this worker cannot run' },
  E1007: { status: 422, hint: 'raise contextTokens or lower maxTokens, or shorten the prompt template and system message' },
  E1008: { status: 500, hint: 'a subtask result the plan needs is missing; this is a bug in the coordinator, please report it' },
  E1009: { status: 400, hint: 'pass the kind of input the job type takes: a text (--text or --file) or items (`agora jobs types` says which)' },
  E1010: { status: 413, hint: 'the plan has too many subtasks: raise chunkChars or the items per subtask, or split the input into several jobs' },
  E1011: { status: 502, hint: 'the model on the worker answered in an unexpected shape; try another model' },
  E1012: { status: 400, hint: 'give a deadline in the future (constraints.deadline, epoch ms; `--deadline 10m` on the CLI), or none' },
  E1013: { status: 400, hint: 'give the job a budget (`--budget 5`): an auction offers sellers the budget, not a price per subtask' },
  E1020: { status: 422, hint: 'no offer can run this: see what is missing below, connect to peers that serve it, or relax the constraints' },
  E1021: { status: 422, hint: 'raise --max-price or the budget, or wait for cheaper offers' },
  E1040: { status: 503, hint: 'the worker refused the subtask (busy or not allowed); the coordinator tries another worker' },
  E1041: { status: 504, hint: 'the worker did not accept or refuse in time; it may be overloaded or gone' },
  E1042: { status: 504, hint: 'the worker accepted but reported nothing in time' },
  E1043: { status: 504, hint: 'the subtask took longer than jobs.timeouts.totalMs' },
  E1044: { status: 502, hint: 'the subtask failed on the worker; see why' },
  E1045: { status: 502, hint: 'the worker sent a malformed result or receipt; it was rejected and counted against it' },
  E1046: { status: 404, hint: 'the worker no longer holds that result (evicted or never made); the subtask runs again' },
  E1047: { status: 504, hint: 'the subtask deadline passed while it ran on the worker' },
  E1048: { status: 502, hint: 'the executor returned a result that is not JSON or is larger than a worker may send (a bug in the executor)' },
  E1049: { status: 503, hint: 'the worker stopped while running the subtask; the coordinator tries another worker' },
  E1050: { status: 499, hint: 'the coordinator cancelled the subtask (job cancelled or superseded)' },
  E1060: { status: 404, hint: 'list jobs with `agora jobs list`' },
  E1061: { status: 409, hint: 'the job has no result yet; wait with `agora jobs watch <id>`' },
  E1062: { status: 400, hint: 'upload the file again from the start' },
  E1063: { status: 504, hint: 'the deadline passed before every subtask finished; partial results are kept (`agora jobs result <id>`)' },
  E1064: { status: 409, hint: 'the job is finished already' },
  E1065: { status: 502, hint: 'a subtask failed on every worker tried; see its last error with `agora jobs show <id>`' },
  E1066: { status: 409, hint: 'the job was cancelled; partial results are kept (`agora jobs result <id>`); submit it again to rerun it' },
  E1067: { status: 500, hint: 'the coordinator itself failed (see the node log); partial results are kept; submit the job again' },
  E1080: { status: 503, hint: 'this node runs no jobs coordinator; start it with a build that has jobs, or use another node' },
  E1081: { status: 413, hint: 'split the input into smaller files, or raise jobs.maxUploadBytes (`agora config set jobs.maxUploadBytes N`)' },
  E1082: { status: 404, hint: 'upload the file first: `agora jobs submit --file F` uploads it and refers to it by hash' },
  E1083: { status: 500, hint: 'the stored blob no longer matches its hash (disk damage?); upload the file again' },
  E1084: { status: 400, hint: 'this job type reads its input as UTF-8 text: upload a text file' },
  E1085: { status: 429, hint: 'finish or abandon the uploads in progress (they expire after an hour), then try again' },
  E1086: { status: 502, hint: 'see why with `agora jobs show <id>`; partial results may be kept (`agora jobs result <id>`)' },
  // market: amounts, wallet and ledger
  E1100: { status: 400, hint: 'write credits as a decimal number with at most six decimals, e.g. 12.5 or "0.000001"' },
  E1101: { status: 402, hint: 'lower the amount (a job\'s budget, a request\'s quantity or price), or wait for holds to be released (`agora wallet show`)' },
  E1102: { status: 403, hint: 'the seller extends this node less credit than that: lower the amount, earn from that peer first, or ask its operator to raise the limit (`agora wallet limits`)' },
  E1103: { status: 500, hint: 'the ledger refused an entry that would break its invariants; this is a bug — see the node log' },
  E1104: { status: 409, hint: 'the capture would take more than is still held, or more than the accepted price; nothing was booked' },
  // market: contracts and direct requests
  E1110: { status: 404, hint: 'list contracts with `agora market contracts`' },
  E1111: { status: 403, hint: 'only the buyer or the seller of a contract may act on it' },
  E1112: { status: 409, hint: 'see the contract\'s state with `agora market contracts`' },
  E1113: { status: 410, hint: 'the contract or request expired; send a new request' },
  E1114: { status: 409, hint: 'the seller refused the request (the reason says why); try another seller, a higher price or a smaller quantity' },
  E1115: { status: 404, hint: 'list offers with `agora offers list`; the seller may have withdrawn it' },
  E1116: { status: 502, hint: 'the seller could not be reached or did not answer; check `agora peers list` and try again' },
  E1117: { status: 400, hint: 'the peer sent a market message that breaks the protocol; it is counted against its reputation' },
  E1118: { status: 502, hint: 'the seller quoted terms the request did not allow (a price above the max, another quantity, offer or model); nothing was held and the seller is counted against its reputation' },
  // market: payments
  E1120: { status: 409, hint: 'a payment proof must raise its nonce by one and never lower the cumulative amount; the older proof is kept' },
  E1121: { status: 422, hint: 'a payment proof may cover only receipts this node issued to the payer and has not been paid for' },
  E1123: { status: 409, hint: 'a receipt id names one piece of work: it was issued before to another buyer or for another amount; this is a bug — see the node log' },
  // market: the open auction
  E1130: { status: 404, hint: 'list needs with `agora market needs`' },
  E1131: { status: 410, hint: 'the need took proposals until its deadline; answer a newer need' },
  E1132: { status: 422, hint: 'the proposal\'s unit price times the need\'s quantity passes its budget; propose within it' },
  E1133: { status: 409, hint: 'a proposal answers an open need of the node it is sent to; see the need with `agora market proposals <need>`' },
  E1134: { status: 409, hint: 'no seller proposed in time, or no proposal became a contract (see each proposal\'s reason with `agora market proposals <need>`); put out a new need with a longer deadline or a higher budget' },
  E1135: { status: 409, hint: 'see the need\'s state with `agora market needs`' },
  E1136: { status: 400, hint: 'a need names a task type, a quantity from 1, a budget above zero and a deadline in the next 24 hours, e.g. `agora market need --task-type text.embed --quantity 100 --budget 5 --deadline 10m`' },
  // market: the control API
  E1140: { status: 503, hint: 'this node runs no market; start it with a build that has one, or use another node' },
  // verification
  E1204: { status: 409, hint: 'the replicas of a subtask gave results no majority agrees on, even with K + 2 more workers; nobody is blamed and the subtask is tried again' },
  E1200: { status: 409, hint: 'only the decision that stands (highest epoch, Lamport time, decider id) is finalized, once; an older or losing one is reconciled instead' },
  E1201: { status: 409, hint: 'a decider decides a thread once per epoch; the second, different decision is counted against it' },
  E1202: { status: 400, hint: 'a decision needs its thread, decider and result, and whole epoch and Lamport numbers' },
  E1208: { status: 422, hint: 'K verifiers found the worker\'s result wrong (each against a re-run of the subtask); the attempt is not paid and the subtask goes to another worker' },
  E1207: { status: 422, hint: 'a verifier checks results of the task types in its verify.verifies, for the coordinator that names the thread, with the result the request carries; ask a verifier whose offer carries verify:<type>' },
  E1206: { status: 503, hint: 'a decision that pays holds the credits in this node\'s market first; decide without pay, or run the node with its market' },
  E1205: { status: 403, hint: 'a thread is decided by the node whose peer id names it (`<peer id>/…`): decide this node\'s own threads only' },
  E1203: { status: 503, hint: 'check that etcd runs at verify.etcd.endpoints (`etcdctl endpoint health`); a decision call is safe to repeat' },
  E1210: { status: 400, hint: 'the peer sent a verification message of the wrong shape; it is counted against it' },
  E1211: { status: 429, hint: 'the peer sends verification messages faster than allowed; the rest are dropped unverified' },
  E1212: { status: 409, hint: 'a signer\'s messages for one thread carry rising Lamport times; an older or repeated one is dropped' },
  E1213: { status: 409, hint: 'an attestation counts only in the thread\'s current epoch; a new decision fenced this one off' },
  E1214: { status: 409, hint: 'an attestation reveals exactly what it committed to before; a reveal without or against its commitment is refused' },
  E1216: { status: 422, hint: 'a challenge must carry the accused\'s signed receipt and at least two other workers\' receipts for replicas of that subtask, all made for the challenger; one that does not check out counts against the challenger' },
  E1215: { status: 400, hint: 'a verification message travels under its signer\'s own name; one published by another peer is forged or misrouted' },
  // invites and bootstrap peers (`agora invite`, `join`, `bootstrap`)
  E1310: { status: 400, hint: 'an invite is one line starting agora-invite:1: — copy it whole, as `agora invite` printed it' },
  E1311: { status: 400, hint: 'the invite was altered or not signed by the node it names; ask its node for a new one (`agora invite`)' },
  E1312: { status: 410, hint: 'ask the inviting node for a fresh invite: `agora invite --expires 24h`' },
  E1313: { status: 409, hint: 'this node runs a public network (network.psk is empty): invite without --psk, or make the network private with `--psk <swarm key file>`' },
  E1314: { status: 400, hint: 'give a duration such as 30m, 24h or 7d (from 1 minute to 30 days)' },
  E1315: { status: 400, hint: 'a bootstrap peer is a full multiaddr ending in /p2p/<peer id>, e.g. /ip4/192.0.2.7/tcp/41145/p2p/12D3KooW…' },
  E1316: { status: 404, hint: 'see the configured peers with `agora bootstrap list`' },
  E1317: { status: 409, hint: 'the node listens on no address peers could dial; check network.listen and network.announce' },
  E1318: { status: 409, hint: 'a node belongs to one private network: clear network.psk (`agora config set network.psk ""`) to switch networks' },
  E1319: { status: 502, hint: 'check that those peers run and are reachable from here (firewall, NAT, address); `agora doctor` checks the basics' },
  // shell completion (`agora completion`)
  E1320: { status: 400, hint: 'completion scripts exist for bash, zsh, fish and powershell' },
  // the echo engine and `agora demo`
  E1300: { status: 400, hint: 'the echo engine answers chat completions for agora/echo only, when providers.echo.enabled is true' },
  E1301: { status: 409, hint: 'a demo swarm is running already: stop it with `agora demo --stop`, then start a new one' },
  E1302: { status: 500, hint: 'a demo node did not start: see its log (named above); the other demo nodes were stopped and the demo folder removed' },
  E1303: { status: 404, hint: 'start one with `agora demo`' },
  E1304: { status: 502, hint: 'a step of the demo failed: see the node logs in the demo folder, then `agora demo --stop`' },
  E1305: { status: 500, hint: 'the demo state file is damaged: remove the demo folder named above, and stop any agora process started from it' },
  // config lifecycle and runtime config
  E1330: { status: 400, hint: 'this config file was written by a newer agora: upgrade agora (see `agora changelog`), or use a file for this version' },
  E1331: { status: 400, hint: 'fix the config file by hand (see `agora config validate`), then run `agora config migrate` again' },
  E1332: { status: 400, hint: 'send a JSON object of sections, e.g. {"log": {"level": "debug"}}; `version` changes only through `agora config migrate`' },
  E1333: { status: 409, hint: 'start the node with a config file (`agora config init`, then `agora start --config <file>`) so changes that need a restart can be kept' },
  E1334: { status: 500, hint: 'the change was written to the file but could not be applied now; restart the node (`agora restart`) to use it' },
  // the setup wizard (`agora setup`)
  E1340: { status: 400, hint: 'run `agora setup` in a terminal, or run the `agora config init` and `agora config set …` lines printed above' },
  E1341: { status: 400, hint: 'answer as the prompt says (a multiaddr ending in /p2p/<peer id>, credits as a decimal, an http(s) URL)' },
  E1342: { status: 502, hint: 'check that the engine runs at that URL and speaks the kind chosen (Ollama, or an OpenAI-compatible /v1)' },
  E1343: { status: 400, hint: 'nothing was written; run `agora setup` again' },
  // peers and status details
  E1350: { status: 409, hint: 'lift the ban first (`agora peers unban <id>`), then remove the peer' },
  E1351: { status: 502, hint: 'the engine or peer broke the answer\'s rules (out-of-order or oversized tool calls, too many log-probabilities); it was treated as a failure — check the engine, or ban the peer if it goes on' },
  // packages: the trustless gateway /ipfs/<cid> and CAR export/import (docs/packages.md)
  E1460: { status: 400, hint: 'ask for /ipfs/<cid> with a valid CID (CIDv0 Qm… or CIDv1 baf…)' },
  E1461: { status: 400, hint: 'this is a trustless gateway: ask for ?format=raw (one block) or ?format=car (dag-scope=block|entity|all), or send Accept: application/vnd.ipld.raw or application/vnd.ipld.car' },
  E1462: { status: 406, hint: 'accept application/vnd.ipld.raw or application/vnd.ipld.car;version=1;order=dfs (dups=y or n)' },
  E1463: { status: 404, hint: 'this node serves only blocks it holds; ask a node that provides the CID (`agora pkg info` shows providers)' },
  E1464: { status: 400, hint: 'entity-bytes is from:to with byte offsets (to may be * for the end; negatives count from the end), inside the file' },
  E1465: { status: 404, hint: 'the path does not name anything under that CID; list a directory with ?format=car&dag-scope=entity' },
  E1466: { status: 422, hint: 'a block of the CAR does not hash to its CID: the file is damaged or was altered; nothing from it was kept — export it again' },
  E1467: { status: 400, hint: 'pass a CARv1 written by `agora pkg export --car`: its root is the manifest CID and it carries the signed PACKAGE envelope' },
  E1468: { status: 409, hint: 'a CAR holds a package this node has whole: install it first (`agora pkg install <spec>`)' },
  E1469: { status: 413, hint: 'the CAR is larger than packages.maxPackageBytes allows (or a block is over 4 MiB); raise the limit if you trust it' },
  // voided parts of receipts (docs/market.md "Voided parts")
  E1390: { status: 400, hint: 'the peer sent a VOID that breaks the protocol (malformed, or not signed by the receipt\'s payer); it is counted against its reputation' },
  E1391: { status: 404, hint: 'a VOID may name only a receipt this node issued to its signer; it is counted against the sender' },
  E1392: { status: 422, hint: 'a VOID may settle at most what is still unpaid of the receipt; it is counted against the sender' },
  E1393: { status: 409, hint: 'the receipt was voided before for another amount; a receipt is voided once' },
  // packages: the control API /api/v1/packages and `agora pkg` (docs/packages.md, docs/api.md)
  E1470: { status: 503, hint: 'this node runs without packages: enable them (packages.enabled) and restart it' },
  E1471: { status: 400, hint: 'fix the packages request as described (docs/api.md, "Packages")' },
  E1472: { status: 400, hint: 'a spec is publisher/name, publisher/name@<version or semver range> (e.g. acme/tool@^1.2), or a manifest CID (baf…)' },
  E1473: { status: 400, hint: 'fix the flag as described; see `agora pkg <verb> --help`' },
  E1474: { status: 400, hint: 'export with exactly one of --car <file> or --ollama' },
  E1475: { status: 502, hint: 'the progress stream ended before its result; check the node log (`agora logs`), then run the command again' },
  // packages: the catalogue — PACKAGE envelopes, ownership, gossip and sync (docs/packages.md)
  E1400: { status: 400, hint: 'a package is announced as a signed PACKAGE envelope; the sender runs an incompatible or broken client' },
  E1401: { status: 400, hint: 'only PACKAGE envelopes carry package manifests' },
  E1402: { status: 401, hint: 'the PACKAGE envelope does not verify with its signer key; it was forged or altered' },
  E1403: { status: 413, hint: 'a manifest may be at most packages.maxManifestBytes; list fewer files or shorten the description' },
  E1404: { status: 400, hint: 'a PACKAGE payload is { cid, manifest } with the manifest as base64url DAG-CBOR bytes' },
  E1405: { status: 422, hint: 'the manifest bytes do not hash to the CID announced with them; it was tampered with' },
  E1406: { status: 400, hint: 'the manifest does not match the manifest schema (docs/packages.md); the publisher runs an incompatible or broken client' },
  E1407: { status: 400, hint: 'a manifest is signed by its own publisher: manifest.publisher must equal the envelope signer' },
  E1410: { status: 403, hint: 'the name belongs to another key; publish under your own publisher prefix, or ask the owners to add your key (manifest owners)' },
  E1411: { status: 409, hint: 'a published version never changes; publish the change under a new version' },
  E1412: { status: 429, hint: 'too many packages announced by one publisher (packages.announcePerPublisherPerMinute); announce less often' },
  E1413: { status: 502, hint: 'the peer sent a malformed package sync page; it was dropped and the sync round ended' },
  E1414: { status: 403, hint: 'the sending peer is banned; its package messages are dropped until the ban ends' },
  E1415: { status: 409, hint: 'the manifest follows an earlier version (previous) of a name this node has not learned yet; anti-entropy brings the history, then it is accepted' },
  E1416: { status: 429, hint: 'this peer sent more new manifests than packages.catalogBytesPerPeerPerHour; the rest come by anti-entropy later' },
  E1417: { status: 507, hint: 'the catalogue is at packages.catalogMaxBytes; raise it, or remove what you do not need' },
  // packages: search — the local index and /agora/search/1 (docs/packages.md)
  E1420: { status: 400, hint: 'search with at most 256 characters and 16 words, a known --kind and --limit from 1 to 100' },
  E1421: { status: 429, hint: 'too many /agora/search/1 queries from one peer (packages.searchPerPeerPerMinute); search less often' },
  E1422: { status: 502, hint: 'the peer sent a malformed search answer; it was dropped and counted against the peer' },
  E1423: { status: 422, hint: 'a peer\'s search answer carried a PACKAGE envelope that does not verify; it was dropped and counted against the peer' },
  // packages: publish, provide and the room's front door (docs/packages.md)
  E1430: { status: 400, hint: 'give a file or a folder on the node\'s disk that the node can read (a path on the node, not on the client)' },
  E1431: { status: 400, hint: 'a package holds at least one file; put the files in the folder first' },
  E1432: { status: 400, hint: 'a package holds only what is inside its folder: replace the link by the file it points to, or remove it' },
  E1433: { status: 413, hint: 'publish fewer files (pack them into an archive), or raise packages.maxFiles' },
  E1434: { status: 413, hint: 'publish less, or raise packages.maxPackageBytes' },
  E1435: { status: 400, hint: 'fix the publish request as described: name publisher/name, version like 1.2.0, a known kind, tags, dependency ranges, owners as peer ids' },
  E1436: { status: 503, hint: 'packages are off on this node: set packages.enabled to true (`agora config set packages.enabled true`) and restart it' },
  E1437: { status: 404, hint: 'search for it with `agora pkg search <words>`, or check the name, version or CID' },
  E1438: { status: 500, hint: 'importing into the node\'s block store failed; check that the data dir is on a writable disk with free space' },
  // packages: install, cache, Ollama export (docs/packages.md)
  E1440: { status: 404, hint: 'search for it with `agora pkg search <words>`, or check the name, version range or CID' },
  E1441: { status: 422, hint: 'a package installs only with its publisher\'s signed PACKAGE envelope; wait until the catalogue learns it (`agora pkg info <cid>`), or ask the publisher to announce it again' },
  E1442: { status: 403, hint: 'install only from publishers you trust: pass --trust-publisher if you trust this one, or wait until its reputation grows' },
  E1443: { status: 413, hint: 'raise packages.maxPackageBytes if you want packages this big' },
  E1444: { status: 422, hint: 'the package\'s dependencies form a cycle; ask its publisher to fix them' },
  E1445: { status: 404, hint: 'a dependency matches no version this node knows; wait for the catalogue to learn it, or ask the publisher' },
  E1446: { status: 502, hint: 'no reachable peer served all of the package\'s blocks; connect to a peer that holds it (`agora pkg info` shows providers) and run install again — blocks already fetched are kept' },
  E1447: { status: 409, hint: 'run the install again: it resumes with the blocks already fetched' },
  E1448: { status: 404, hint: 'see what is installed with `agora pkg list`' },
  E1449: { status: 422, hint: 'an installed file no longer matches its manifest; run `agora pkg verify`, then remove and install it again' },
  E1450: { status: 422, hint: 'only model packages (kind model) with a .gguf file can be exported to Ollama' },
  E1451: { status: 500, hint: 'check that the Ollama models dir is writable (or pass another --models-dir)' },
  E1452: { status: 400, hint: 'an Ollama model name is lower-case letters, digits, ., _ and -, with an optional :tag' },
  E1453: { status: 429, hint: 'the peer asked for too many blocks at once; it is counted against its reputation' },
  E1454: { status: 409, hint: 'wait for the install to end (or cancel it), then remove the package' }
} as const satisfies Record<string, ErrorSpec>

export type ErrorCode = keyof typeof ERROR_CODES

export interface AgoraErrorOptions {
  /** Why it happened, in a few words (the middle part of the message). */
  why?: string
  /** What to do; defaults to the code's hint. */
  hint?: string
  cause?: unknown
  /** Structured details sent to API clients (never secrets). */
  details?: Record<string, unknown>
}

/** The one error class of the project: `Error [E123]: what — why — what to do`. */
export class AgoraError extends Error {
  override name = 'AgoraError'
  readonly code: ErrorCode
  readonly what: string
  readonly why: string | undefined
  readonly hint: string
  readonly details: Record<string, unknown> | undefined

  constructor (code: ErrorCode, what: string, options: AgoraErrorOptions = {}) {
    super(what, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.what = what
    this.why = options.why
    this.hint = options.hint ?? ERROR_CODES[code].hint
    this.details = options.details
  }

  get status (): number {
    return ERROR_CODES[this.code].status
  }

  /** The line a user reads. */
  format (): string {
    return formatError(this.code, this.what, this.why, this.hint)
  }

  toJSON (): ErrorBody {
    return { code: this.code, message: this.what, why: this.why, hint: this.hint, details: this.details }
  }
}

/** Error body the control API sends; the client turns it back into an AgoraError. */
export interface ErrorBody {
  code: string
  message: string
  why?: string | undefined
  hint?: string | undefined
  details?: Record<string, unknown> | undefined
}

export function formatError (code: string, what: string, why: string | undefined, hint: string | undefined): string {
  return `Error [${code}]: ${[what, why, hint].filter(p => p != null && p !== '').join(' — ')}`
}

export function isAgoraError (err: unknown, code?: ErrorCode): err is AgoraError {
  return err instanceof AgoraError && (code === undefined || err.code === code)
}

export function isErrorCode (code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code)
}

/** Rebuild an AgoraError from an API error body (client side). */
export function errorFromBody (body: ErrorBody): AgoraError {
  const code = isErrorCode(body.code) ? body.code : 'E599'
  return new AgoraError(code, body.message, { why: body.why, hint: body.hint, details: body.details })
}

/** Message of any thrown value, for logs and `why` fields. */
export function messageOf (err: unknown): string {
  if (err instanceof Error) return err.message
  // libp2p streams can fail with one of their events ('close', 'abort'…): what it carries, else its type — never "[object Event]"
  if (err instanceof Event) {
    const carried = err as Event & { error?: unknown, detail?: unknown, reason?: unknown }
    const inner = carried.error ?? carried.detail ?? carried.reason
    return inner === undefined || inner === null ? `the stream failed (a '${err.type}' event, no error attached)` : messageOf(inner)
  }
  return String(err)
}
