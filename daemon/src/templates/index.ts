/** Workflow templates: UI → API conversion, ComfyUI PNG metadata, parameter detection and binding. */
export { uiToApi, type ConvertResult } from './convert.js';
export type { ConversionError } from './errors.js';
export type { NodeDef, ObjectInfo, InputSpec } from './objectInfo.js';
export { readComfyPng, readPngText, readPngChunks, PngError, type ComfyPngMetadata } from './png.js';
export { detectParams, toBound } from './params.js';
export { applyParams, type ApplyResult, type ParamError } from './apply.js';
export { isUiWorkflow, type UiWorkflow, type UiNode, type UiSubgraphDef } from './workflow.js';
