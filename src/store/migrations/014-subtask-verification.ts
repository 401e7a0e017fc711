import type { Migration } from './index.ts'

/**
 * How a subtask's result was verified (docs/verification.md): the method
 * (replicas or a canary), the verdict, how many replicas, the outvoted
 * workers, and whether it is provisional — JSON, null when it was not
 * checked.
 */
export const m014SubtaskVerification: Migration = {
  version: 14,
  name: 'jobs: subtask verification',
  up: `
    ALTER TABLE subtasks ADD COLUMN verification TEXT;
  `
}
