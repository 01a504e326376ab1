import type { ErrorCode } from '@comfygate/shared';
import { GatewayError } from '../errors.js';
import { ComfyHttpError } from './http.js';
import type { ComfyErrorObject, ExecutionErrorData, NodeError } from './types.js';

/** A failed attempt as data: the retry policy reads `kind` alone. */
export interface Failure {
  kind: 'transient' | 'permanent';
  code: ErrorCode;
  message: string;
  details?: unknown;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

/** Out-of-memory can succeed on another GPU; other node exceptions will fail the same way anywhere. */
const TRANSIENT_EXCEPTIONS = /OutOfMemory|CUDA out of memory/i;

export function classifyThrown(err: unknown): Failure {
  if (err instanceof ComfyHttpError) {
    const transient = err.status >= 500 || err.status === 429 || err.status === 408;
    return {
      kind: transient ? 'transient' : 'permanent',
      code: transient ? 'backend_unavailable' : 'comfy_validation',
      message: err.message,
    };
  }
  if (err instanceof GatewayError) {
    return {
      kind: err.code === 'backend_unavailable' ? 'transient' : 'permanent',
      code: err.code,
      message: err.message,
    };
  }
  const code = networkCode(err);
  if (code) return { kind: 'transient', code: 'backend_unavailable', message: `backend unreachable (${code})` };
  return { kind: 'transient', code: 'backend_unavailable', message: err instanceof Error ? err.message : String(err) };
}

/** Failed before a connection existed, so ComfyUI cannot have received the request. */
export function neverReached(err: unknown): boolean {
  const code = networkCode(err);
  return (
    code === 'ECONNREFUSED' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'EAI_AGAIN' ||
    err instanceof ComfyHttpError || // it answered: the answer says what happened
    err instanceof GatewayError
  ); // ours, raised before the request (e.g. staging an input)
}

function networkCode(err: unknown): string | null {
  for (let e: unknown = err; e && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
  }
  return null;
}

/** A 400 from POST /prompt: ComfyUI's own words, node by node. */
export function classifyValidation(error: ComfyErrorObject, nodeErrors: Record<string, NodeError>): Failure {
  const lines = Object.entries(nodeErrors).flatMap(([id, ne]) =>
    ne.errors.map((e) => `${ne.class_type} (node ${id}): ${e.message}${e.details ? `: ${e.details}` : ''}`),
  );
  const head = `${error.message}${error.details ? `: ${error.details}` : ''}`;
  return {
    kind: 'permanent',
    code: 'comfy_validation',
    message: lines.length ? `${error.message}: ${lines.join('; ')}` : head,
    details: { error, node_errors: nodeErrors },
  };
}

/**
 * A validation error that says this backend lacks a node class or a model: its cached capabilities were
 * stale, and another backend may still run the graph.
 */
export function isMissingCapability(error: ComfyErrorObject, nodeErrors: Record<string, NodeError>): boolean {
  if (error.type === 'invalid_prompt' && /does not exist/.test(error.message)) return true;
  return Object.values(nodeErrors).some((ne) => ne.errors.some((e) => e.type === 'value_not_in_list'));
}

export function classifyExecutionError(data: ExecutionErrorData): Failure {
  const text = `${data.exception_type}: ${String(data.exception_message ?? '').trim()}`;
  return {
    kind: TRANSIENT_EXCEPTIONS.test(text) ? 'transient' : 'permanent',
    code: 'comfy_execution',
    message: `${data.node_type} (node ${data.node_id}) failed: ${text}`,
    details: {
      node_id: data.node_id,
      node_type: data.node_type,
      exception_type: data.exception_type,
      exception_message: data.exception_message,
    },
  };
}
