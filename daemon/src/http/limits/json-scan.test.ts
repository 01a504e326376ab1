import { expect, test } from 'vitest';
import { scanJson } from './json-scan.js';

test('nesting is counted outside strings only, escapes included', () => {
  expect(scanJson('[[[]]]', 3).tooDeep).toBe(false);
  expect(scanJson('[[[[]]]]', 3).tooDeep).toBe(true);
  expect(scanJson('{"a":{"b":{"c":1}}}', 3).tooDeep).toBe(false);
  // Brackets and an escaped quote inside a prompt are text, not structure.
  expect(scanJson(JSON.stringify({ prompt: '[[[[[[{{{{ \\" ]]]' }), 2).tooDeep).toBe(false);
  expect(scanJson('"\\\\"[[[', 2).tooDeep).toBe(true); // an escaped backslash ends before the quote
});

test('long numbers send a body to the lossless parser; digits in strings do not', () => {
  expect(scanJson('{"seed": 18446744073709551615}', 64).longNumbers).toBe(true);
  expect(scanJson('{"seed": 123456789012345}', 64).longNumbers).toBe(false);
  expect(scanJson('{"id": "12345678901234567890"}', 64).longNumbers).toBe(false);
  expect(scanJson('[1234567890, 1234567890]', 64).longNumbers).toBe(false);
});
