/**
 * `@comfygate/shared/manifest`: the asset manifest (`comfygate.assets.json`) and its lock, implemented once for
 * the VS Code extension and `comfygate assets`. Uses Node (fs, crypto): not part of the browser entry.
 */
export * from './schema.js';
export * from './resolve.js';
export * from './hash.js';
export * from './plan.js';
export * from './provenance.js';
export * from './files.js';
export * from './generate.js';
