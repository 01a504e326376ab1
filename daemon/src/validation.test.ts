import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { formatIssues } from './validation.js';

const Body = z.strictObject({
  name: z.string().min(3),
  tags: z.array(z.string()).max(2).optional(),
  size: z.union([z.number(), z.string()]).optional(),
  mode: z.enum(['fast', 'slow']).optional(),
  graph: z.record(z.string(), z.object({ class_type: z.string() })).optional(),
});

const messageFor = (input: unknown) => {
  const r = Body.safeParse(input);
  if (r.success) throw new Error('expected a failure');
  return formatIssues(r.error.issues, input);
};

describe('formatIssues', () => {
  it('says where, what was expected and what came', () => {
    expect(messageFor({ name: 'ab' })).toBe('name: expected at least 3 characters, got 2');
    expect(messageFor({})).toBe('name: required (a string)');
    expect(messageFor({ name: 'abc', tags: ['a', 'b', 'c'] })).toBe('tags: expected at most 2 items, got 3');
    expect(messageFor({ name: 'abc', size: true })).toBe('size: expected a number or a string, got true');
    expect(messageFor({ name: 'abc', mode: 'quick' })).toBe("mode: expected one of 'fast', 'slow', got 'quick'");
    expect(messageFor({ name: 'abc', colour: 'red' })).toBe("(body): unknown field 'colour'");
  });

  it('reads a UI workflow where a graph belongs as that one mistake', () => {
    const ui = { last_node_id: 2, nodes: [{ id: 1 }], links: [], version: 0.4 };
    expect(messageFor({ name: 'abc', graph: ui })).toMatch(
      /^graph: this is a UI \(editor\) workflow, not an API-format graph: /,
    );
  });

  it('lists at most five problems, then how many more', () => {
    const Many = z.object(Object.fromEntries(['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((k) => [k, z.number()])));
    const r = Many.safeParse({});
    expect(r.success).toBe(false);
    expect(formatIssues(r.error!.issues, {})).toBe(
      'a: required (a number); b: required (a number); c: required (a number); d: required (a number); e: required (a number); and 2 more',
    );
  });

  it('stays short whatever the body holds: thousands of unknown fields, names a megabyte long', () => {
    const many = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`field${i}`, 1]));
    const m = messageFor({ name: 'abc', ...many });
    expect(m).toBe("(body): unknown fields 'field0', 'field1', 'field2', 'field3', 'field4' and 4995 more");
    const long = 'n'.repeat(1_000_000);
    expect(messageFor({ name: 'abc', [long]: 1 })).toBe(`(body): unknown field '${'n'.repeat(37)}...'`);
    const g = messageFor({ name: 'abc', graph: { [long]: { class_type: 1 } } });
    expect(g).toBe(`graph.${'n'.repeat(37)}....class_type: expected a string, got 1`);
  });
});
