// The real CLI, interrupted with SIGINT mid-build: exit code 130 and nothing visible left behind.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { writeSnapshot } from './test-support/snapshot-fixture.js';

const root = mkdtempSync(join(tmpdir(), 'imatch-interrupt-test-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

it('SIGINT during a build exits 130 and leaves neither a version nor a temp folder', async () => {
  const snap = writeSnapshot(join(root, 'snap'), { offers: 60_000, perOffer: 5 });
  const out = join(root, 'out');
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      resolve('bin/imatch.ts'),
      'build-index',
      '--snapshot',
      snap.dir,
      '--columns',
      '2',
      '--out',
      out,
      '--progress',
      'off',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
  // Interrupt as soon as the build's temp folder exists (it reads ~40 MB after that).
  const deadline = Date.now() + 15_000;
  let sawTemp = false;
  while (Date.now() < deadline && child.exitCode === null) {
    if (existsSync(out) && readdirSync(out).some((n) => n.startsWith('.tmp-'))) {
      sawTemp = true;
      child.kill('SIGINT');
      break;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const code = await exited;
  expect(sawTemp).toBe(true);
  expect({ code, stdout }).toEqual({ code: 130, stdout: '' });
  expect(stderr).toContain('build interrupted by SIGINT; no version was written');
  expect(readdirSync(out)).toEqual([]);
}, 60_000);
