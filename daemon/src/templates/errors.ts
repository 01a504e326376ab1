import type { z } from 'zod';
import { formatIssues } from '../validation.js';

/** A conversion problem tied to one node: its (execution) id, its type, and what is wrong. */
export interface ConversionError {
  node: string;
  type: string;
  reason: string;
}

/** Converted, but not as saved: why the graph differs from the one the editor would have sent with the file. */
export interface ConversionWarning {
  node: string;
  type: string;
  message: string;
}

/** Thrown inside the converter and collected per node, so one bad node does not hide the others. */
export class NodeError extends Error {
  constructor(
    readonly node: string,
    readonly nodeType: string,
    readonly reason: string,
  ) {
    super(`node ${node} (${nodeType}): ${reason}`);
  }

  toJSON(): ConversionError {
    return { node: this.node, type: this.nodeType, reason: this.reason };
  }
}

/** Zod issues as `field: expected, got` (at most three), for a conversion error that names what is wrong. */
export function describeIssues(issues: z.core.$ZodIssue[], input: unknown, whole = '(value)'): string {
  return formatIssues(issues, input, { whole, max: 3 });
}
