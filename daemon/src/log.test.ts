import { describe, expect, it } from 'vitest';
import { logFormat } from './log.js';

describe('log format', () => {
  it('is pretty on a terminal and JSON otherwise, unless COMFYGATE_LOG_FORMAT says', () => {
    expect(logFormat({}, true)).toBe('pretty');
    expect(logFormat({}, false)).toBe('json');
    expect(logFormat({ COMFYGATE_LOG_FORMAT: 'json' }, true)).toBe('json');
    expect(logFormat({ COMFYGATE_LOG_FORMAT: 'pretty' }, false)).toBe('pretty');
    expect(logFormat({ COMFYGATE_LOG_FORMAT: 'loud' }, false)).toBe('json');
  });
});
