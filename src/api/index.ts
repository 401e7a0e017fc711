/** The API room's door. */
export { buildApiServer } from './server.ts'
export type { ApiComponents, ApiInit } from './server.ts'
export type { ControlPlane } from './control-plane.ts'
