// The storage building blocks the hub reconciler composes (docs/storage.md).
export * from './claims.js';
export * from './datastore.js';
export * from './metrics.js';
export * from './patch.js';
export * from './quantity.js';
export * from './retention.js';
export * from './status.js';
export * from './storage-class.js';
export * from './volumes.js';
