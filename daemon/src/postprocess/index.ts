/**
 * Post-processing (DESIGN §4): named variants of one generated image, each an ordered list of sharp ops, with
 * provenance in the file. The contract (spec, ops, provenance) lives in `@comfygate/shared`.
 */
export {
  createPostprocessor,
  DEFAULT_MAX_PIXELS,
  type Postprocessor,
  type PostprocessorOptions,
  type VariantInfo,
  type VariantResult,
} from './processor.js';
export { PostprocessError, isPostprocessError, type PostprocessErrorCode } from './errors.js';
export { planSpec, parseProvenance, DEFAULT_THUMB, THUMB_NAME, type Plan, type PlannedVariant } from './validate.js';
export { bufferSink, fileSink, assetFilesSink, type VariantSink, type SinkTarget } from './sinks.js';
export { readTextChunks } from './png-text.js';
