/**
 * The demo room's door: `agora demo` starts a local 3-node swarm in a temp
 * folder (a gateway, an echo chat engine, a worker with the embedded
 * engine), runs a chat, an embedding and a small job through it, and leaves
 * it running until `agora demo --stop`.
 */
export { DEMO_INPUTS, DEMO_LIMITS, DEMO_NODES } from './constants.ts'
export type { DemoRole } from './constants.ts'
export { claimDemoDir, demoDir, demoRunning, readState, stateFile } from './state.ts'
export type { DemoNodeState, DemoState } from './state.ts'
export { startSwarm, stopSwarm } from './swarm.ts'
export type { StopReport } from './swarm.ts'
export { DemoGateway } from './steps.ts'
export type { ChatStep, EmbedStep, JobStep } from './steps.ts'
export { STOP_COMMAND, chatLine, embedLine, jobLine, meshLine, nextSteps, nodeLine, stoppedLine } from './report.ts'
