import { expect, it } from 'vitest';
import { printable, table } from './format.js';

it('printable shows control characters as \\xNN and keeps newlines and tabs', () => {
  expect(printable('a\u001b]52;c;eA==\u0007b\r\u009bc\n\td')).toBe('a\\x1b]52;c;eA==\\x07b\\x0d\\x9bc\n\td');
});

it('table cells are one line each, escape sequences shown, never obeyed', () => {
  const out = table(['NAME', 'DESCRIPTION'], [['fox\u001b[2J', 'two\nlines']]);
  expect(out).toBe('NAME        DESCRIPTION\nfox\\x1b[2J  two lines');
});
