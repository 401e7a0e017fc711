/**
 * The config room's door: the schema and its defaults, the loader
 * (file → env → flags), the commented default file, and single-key edits.
 */
export { configSchema, defaultConfig } from './schema.ts'
export type { AgoraConfig } from './schema.ts'
export { loadConfig } from './loader.ts'
export { configSearchPaths, defaultConfigPath, findConfigFile } from './sources.ts'
export { NON_CONFIG_ENV } from './env.ts'
export { configKeys, envNameOf, flagNameOf, leafSpec, leafSpecs } from './keys.ts'
export { coerceRaw } from './coerce.ts'
export type { LeafKind, LeafSpec } from './keys.ts'
export { renderDefaultConfig } from './template.ts'
export { getConfigValue, initConfigFile, setConfigValue, writeFileAtomic } from './edit.ts'
export type { SetConfigResult } from './edit.ts'
export { CONFIG_VERSION } from './version.ts'
export { MIGRATIONS, backupPath, migrateConfigFile, renameKey } from './migrate.ts'
export type { MigrateResult, MigrationStep } from './migrate.ts'
export { HOT_KEYS, changedKeys, isHotKey, needsRestart, planConfigPatch, redactConfig, writeConfigChanges } from './patch.ts'
export type { ConfigChange, ConfigPatchPlan, HotKey } from './patch.ts'
export type { ConfigIssue, ConfigSearchInit, ConfigSource, DeepPartial, LoadConfigInit, LoadedConfig } from './types.ts'
