import { describe, expect, it } from 'vitest';
import { parsePointer } from './version-watcher.js';

describe('index pointer parsing', () => {
  it('reads a published pointer', () => {
    const p = {
      version: 'v1',
      dir: '/store/v1',
      columns: 2,
      watermark: 0,
      publishedAt: '2025-01-01T00:00:00.000Z',
    };
    expect(parsePointer(Buffer.from(JSON.stringify(p)))).toEqual(p);
  });

  it('names every problem of a pointer it cannot use', () => {
    expect(parsePointer(Buffer.from('{"version": '))).toBe('not valid JSON');
    expect(parsePointer(Buffer.from('42'))).toBe('not a JSON object');
    expect(parsePointer(Buffer.from(JSON.stringify({ version: '', columns: 0, watermark: -1 })))).toBe(
      'version must be a non-empty string; dir must be a non-empty string; columns must be an integer >= 1; watermark must be an integer >= 0',
    );
  });
});
