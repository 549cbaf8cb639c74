import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { errorExcerpt, isOurProcess, stopProcess, tailFile } from './process.js';

describe('server processes', () => {
  it('stops only a process whose command line still carries the marker', async () => {
    const marker = `imatch-marker-${process.pid}-${Date.now()}`;
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', marker], { stdio: 'ignore' });
    const pid = child.pid!;
    const exited = new Promise((r) => child.once('exit', r));
    try {
      expect(isOurProcess(pid, marker)).toBe(true);
      expect(await stopProcess(pid, 'some-other-marker', 1000)).toBe('not-running');
      expect(isOurProcess(pid, marker)).toBe(true);
      expect(await stopProcess(pid, marker, 5000)).toBe('terminated');
      await exited;
      expect(isOurProcess(pid, marker)).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('kills a process that ignores SIGTERM after the grace', async () => {
    const marker = `imatch-stubborn-${process.pid}-${Date.now()}`;
    const code = "process.on('SIGTERM', () => {}); console.log('ready'); setInterval(() => {}, 1000)";
    const child = spawn(process.execPath, ['-e', code, marker], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise((r) => child.stdout.once('data', r)); // its SIGTERM handler is installed
      expect(await stopProcess(child.pid!, marker, 300)).toBe('killed');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('picks the error lines of a server log, or its tail when there is none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'imatch-log-'));
    const log = join(dir, 'server.log');
    const lines = Array.from({ length: 100 }, (_, i) => `INFO line ${i}`);
    lines.splice(50, 0, 'ERROR [main] - Invalid config, exiting abnormally');
    writeFileSync(log, `${lines.join('\n')}\n`);
    expect(await errorExcerpt(log)).toBe('ERROR [main] - Invalid config, exiting abnormally');
    writeFileSync(log, 'a\nb\nc\n');
    expect(await errorExcerpt(log)).toBe('a\nb\nc');
    expect(await tailFile(log, 2)).toBe('b\nc');
    expect(await tailFile(join(dir, 'missing.log'))).toBe('');
  });
});
