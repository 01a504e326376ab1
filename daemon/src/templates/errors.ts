import type { z } from 'zod';

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

const issuePath = (path: PropertyKey[]): string =>
  path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : `${out}${out ? '.' : ''}${String(key)}`), '');

/** Zod issues as `field: message` (at most three), for a conversion error that names what is wrong. */
export function describeIssues(issues: z.core.$ZodIssue[], whole = '(value)'): string {
  const listed = issues.slice(0, 3).map((i) => `${issuePath(i.path) || whole}: ${i.message}`);
  if (issues.length > 3) listed.push(`and ${issues.length - 3} more`);
  return listed.join('; ');
}
