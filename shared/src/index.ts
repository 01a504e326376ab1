export * from './errors.js';
export * from './jobs.js';
