/** The protocols room's door: the request/response engine and each protocol built on it. */
export * from './reqresp/index.ts'
export * from './info/index.ts'
