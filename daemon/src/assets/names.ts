import crypto from 'node:crypto';

/**
 * A node id as part of a file name. Node ids are any key the graph's author chose (`../../x`, `a/b`), so only
 * portable characters are kept and the name never leaves its folder; a changed id gets a hash of the original,
 * so `a/b` and `a_b` stay two files.
 */
export function nodeNamePart(nodeId: string): string {
  const clean = nodeId.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
  return clean === nodeId ? clean : `${clean}-${crypto.createHash('sha256').update(nodeId).digest('hex').slice(0, 8)}`;
}
