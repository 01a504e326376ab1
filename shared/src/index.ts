export * from './errors.js';
export * from './jobs.js';
export * from './batches.js';
export * from './api.js';
export * from './client.js';
export * from './postprocess.js';
export * from './templates.js';
export * from './webhooks.js';
