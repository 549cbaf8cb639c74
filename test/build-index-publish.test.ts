// `imatch build-index --publish` against the run's real ZooKeeper: the pointer at
// <root>/index/current names the new version, old versions beyond --keep are pruned (never the
// current one, nor the one it replaced), and a failed build changes nothing.
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { listVersions } from '../core/index-manifest.js';
import { type IndexPointer, zkPaths } from '../core/zk-paths.js';
import { writeSnapshot } from '../index-builder/test-support/snapshot-fixture.js';
import { REPO_ROOT, testZk, uniqueZkRoot, zkConnect } from './helpers/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'imatch-publish-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function buildIndex(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(REPO_ROOT, 'bin/imatch.ts'), 'build-index', ...args],
      {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => done({ code, stdout, stderr }));
  });
}

describe('build-index --publish', () => {
  it('points <root>/index/current at each new version and prunes beyond --keep', async () => {
    const root = uniqueZkRoot('publish');
    const zk = await testZk();
    const snap = writeSnapshot(join(tmp, 'snap'), { offers: 300, watermark: 4242 });
    const out = join(tmp, 'store');
    const common = [
      '--snapshot',
      snap.dir,
      '--columns',
      '2',
      '--out',
      out,
      '--progress',
      'off',
      '--log-level',
      'warn',
    ];
    const publish = ['--publish', '--zk-connect', zkConnect(), '--zk-root', root, '--keep', '2'];

    const published: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await buildIndex([...common, ...publish]);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as {
        version: string;
        dir: string;
        published: boolean;
        pruned: string[];
      };
      expect(summary.published).toBe(true);
      published.push(summary.version);
      const node = await zk.get(zkPaths(root).indexCurrent);
      const pointer = JSON.parse(node!.data.toString('utf8')) as IndexPointer;
      expect(pointer).toMatchObject({
        version: summary.version,
        dir: summary.dir,
        columns: 2,
        watermark: 4242,
      });
      // The new one and the one it replaced are never pruned; at most --keep remain otherwise.
      const kept = await listVersions(out);
      expect(kept).toContain(summary.version);
      if (i > 0) expect(kept).toContain(published[i - 1]);
      expect(kept.length).toBe(Math.min(i + 1, 2));
    }
    expect(await listVersions(out)).toEqual(published.slice(2));

    // A build without --publish adds a version and neither moves the pointer nor prunes.
    const quiet = await buildIndex(common);
    expect(quiet.code, quiet.stderr).toBe(0);
    const before = JSON.parse(
      (await zk.get(zkPaths(root).indexCurrent))!.data.toString('utf8'),
    ) as IndexPointer;
    expect(before.version).toBe(published[3]);
    expect(await listVersions(out)).toHaveLength(3);

    // A failed build (bad row) leaves the pointer and the store as they were.
    appendFileSync(join(snap.dir, 'offers.jsonl'), '{"id":"bad"}\n');
    const failed = await buildIndex([...common, ...publish]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/IM_ERR_BAD_ROW: .*offers\.jsonl:301: offer \/customerId is required/);
    const after = JSON.parse(
      (await zk.get(zkPaths(root).indexCurrent))!.data.toString('utf8'),
    ) as IndexPointer;
    expect(after).toEqual(before);
    expect(readdirSync(out).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(await listVersions(out)).toHaveLength(3);
  });
});
