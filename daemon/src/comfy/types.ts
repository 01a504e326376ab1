/** ComfyUI's wire shapes that the daemon reads (docs/comfyui-protocol.md §2, §3). Unknown fields are ignored. */

export interface ComfyErrorObject {
  type: string;
  message: string;
  details: string;
  extra_info?: Record<string, unknown>;
}

export interface NodeError {
  errors: ComfyErrorObject[];
  dependent_outputs: string[];
  class_type: string;
}

export interface ImageRef {
  filename: string;
  subfolder: string;
  type: string;
}

export interface HistoryEntry {
  outputs: Record<string, Record<string, unknown[]>>;
  status?: { status_str: 'success' | 'error'; completed: boolean; messages: [string, Record<string, unknown>][] };
}

export interface QueueSnapshot {
  running: string[];
  pending: string[];
}

export type InputSpec = [unknown, Record<string, unknown>?];

export interface NodeInfo {
  input: { required?: Record<string, InputSpec>; optional?: Record<string, InputSpec> };
  output: string[];
  output_node: boolean;
}

export type ObjectInfo = Record<string, NodeInfo>;

export interface ExecutionErrorData {
  prompt_id: string;
  node_id: string;
  node_type: string;
  exception_message: string;
  exception_type: string;
}
