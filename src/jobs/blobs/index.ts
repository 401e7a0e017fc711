/** The blobs room's door: content-addressed storage of uploaded job inputs. */
export { BlobStore, formatBytes, BLOBS_DIR, UPLOADS_DIR, DEFAULT_ABANDON_AFTER_MS, DEFAULT_MAX_OPEN_UPLOADS, DEFAULT_MAX_UPLOAD_BYTES } from './blob-store.ts'
export type { BlobStoreComponents, BlobStoreInit } from './blob-store.ts'
