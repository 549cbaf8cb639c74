// The README's run command end to end: `npm start` on a fresh data folder (and free ports), wait
// until it prints its banner, run the printed examples exactly as printed (curl through bash),
// check their answers (a query with ads; the change visible in the next query; the click
// redirected to the ad's landing page and billed at the token's price), then Ctrl-C (SIGINT to
// its process group) and find no process of it left.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeClickToken, parseClickKeys } from '../core/click-token.js';
import { freePorts } from './helpers/ports.js';
import { REPO_ROOT } from './helpers/spawn.js';
import { waitFor } from './helpers/wait.js';

const exec = promisify(execFile);

/** `len` consecutive free ports below the ephemeral range (searchers take base + column). */
async function freeRun(len: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 10_000);
    const ok = await Promise.all(Array.from({ length: len }, (_, i) => canBind(base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error('no run of free ports found');
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

async function sh(command: string): Promise<string> {
  const { stdout } = await exec('bash', ['-c', command], { maxBuffer: 10 * 1024 * 1024 });
  return stdout;
}

function pidsMentioning(text: string): number[] {
  const out: number[] = [];
  for (const line of readProcList()) {
    if (line.cmd.includes(text) && line.pid !== process.pid) out.push(line.pid);
  }
  return out;
}

function readProcList(): { pid: number; cmd: string }[] {
  const list: { pid: number; cmd: string }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      list.push({
        pid: Number(entry),
        cmd: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '),
      });
    } catch {
      // gone
    }
  }
  return list;
}

describe('imatch start (the README run command)', () => {
  let child: ChildProcess | undefined;
  let dataDir = '';

  afterAll(async () => {
    if (child?.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    for (const pid of dataDir === '' ? [] : pidsMentioning(dataDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    if (dataDir !== '') await rm(dataDir, { recursive: true, force: true });
  });

  it('runs the engine, the printed examples work, and Ctrl-C leaves nothing behind', async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'imatch-start-'));
    const p = await freePorts(10);
    const searcherBase = await freeRun(2);
    const args = [
      'start',
      '--',
      '--data-dir',
      dataDir,
      '--offers',
      '3000',
      '--zk-port',
      String(p[0]),
      '--kafka-port',
      String(p[1]),
      '--kafka-controller-port',
      String(p[2]),
      '--blender-port',
      String(p[3]),
      '--click-port',
      String(p[4]),
      '--dispatch-port',
      String(p[5]),
      '--merger-port',
      String(p[6]),
      '--billing-port',
      String(p[7]),
      '--reports-port',
      String(p[8]),
      '--learner-port',
      String(p[9]),
      '--searcher-base-port',
      String(searcherBase),
      '--replicas',
      '1',
      '--infra-jvm-args',
      '-XX:TieredStopAtLevel=1,-XX:+UseSerialGC',
    ];
    let stdout = '';
    let stderr = '';
    child = spawn('npm', args, { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout?.on('data', (b: Buffer) => {
      stdout += b.toString();
    });
    child.stderr?.on('data', (b: Buffer) => {
      stderr += b.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child?.once('exit', (code, signal) => resolve({ code, signal })),
    );

    await waitFor(() => stdout.includes('Ctrl-C stops everything.') || child?.exitCode !== null, {
      timeoutMs: 300_000,
      what: 'the engine banner',
    });
    expect(stdout, stderr.slice(-3000)).toContain('iMatch-TS is running.');

    const lines = stdout.split('\n').map((l) => l.trim());
    const curls = lines.filter((l) => l.startsWith('curl '));
    const [queryCmd, changeCmd, changedQueryCmd, clickCmd, spendCmd, reportCmd, learnerCmd] = curls;
    expect(curls).toHaveLength(7);
    const experimentCmd = lines.find((l) => l.startsWith('node bin/imatch.js experiment '));
    expect(experimentCmd).toBeDefined();
    expect(stdout).toContain(`http://127.0.0.1:${p[8]}/dashboard`);

    // 1. The query has ads.
    const first = JSON.parse(await sh(queryCmd!)) as { ads: { offerId: string }[]; degraded: boolean };
    expect(first.ads.length).toBeGreaterThan(0);
    expect(first.degraded).toBe(false);

    // 2. The change is acknowledged with ids and visible in the next query.
    const ack = JSON.parse(await sh(changeCmd!)) as { ids: number[] };
    expect(ack.ids).toHaveLength(2);
    const demoOffer = /"id":"(o-demo-[a-z0-9]+)"/.exec(changeCmd!)?.[1];
    expect(demoOffer).toBeDefined();
    await waitFor(
      async () => {
        const a = JSON.parse(await sh(changedQueryCmd!)) as { ads: { offerId: string }[] };
        return a.ads.some((ad) => ad.offerId === demoOffer);
      },
      { timeoutMs: 10_000, what: 'the new offer in the next query' },
    );

    // 3. The click redirects to the ad's landing page and is billed once, at the token's price.
    const token = /\/c\/([A-Za-z0-9_-]+)'/.exec(clickCmd!)?.[1];
    expect(token).toBeDefined();
    const keys = JSON.parse(readFileSync(join(dataDir, 'demo', 'click-keys.json'), 'utf8')) as {
      spec: string;
      kid: string;
    };
    const decoded = decodeClickToken(parseClickKeys(keys.spec, keys.kid), token!, { maxAgeMs: 3_600_000 });
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    const before = JSON.parse(await sh(spendCmd!)) as { chargedMicros: number; clicks: number };
    // A person reads the banner before clicking; a click within a second of its page view is
    // (rightly) not billable, so click no sooner than that.
    const earliest = decoded.payload.issuedAtMs + 1500;
    if (Date.now() < earliest) await sleep(earliest - Date.now());
    const click = await sh(clickCmd!);
    expect(click).toMatch(/^HTTP\/1\.1 302/);
    expect(click.toLowerCase()).toContain(`location: ${decoded.payload.landingUrl.toLowerCase()}`);
    let spent = before;
    await waitFor(
      async () => {
        spent = JSON.parse(await sh(spendCmd!)) as { chargedMicros: number; clicks: number };
        return spent.clicks === before.clicks + 1;
      },
      { timeoutMs: 15_000, what: 'the click in the spend report' },
    ).catch((err: Error) => {
      const logs = join(dataDir, 'demo', 'logs');
      const tail = (f: string) => readFileSync(join(logs, f), 'utf8').slice(-3000);
      throw new Error(
        `${err.message}\nspend: ${JSON.stringify(spent)}\nclick:\n${click}\nclick-filter log:\n${tail('click-filter.log')}\nbilling log:\n${tail('billing.log')}`,
      );
    });
    expect(spent.chargedMicros).toBe(before.chargedMicros + decoded.payload.priceMicros);
    // The report of the same customer and day: its cost is billing's net, once reports has the click.
    const net = (spent as { netMicros?: number }).netMicros;
    await waitFor(
      async () => (JSON.parse(await sh(reportCmd!)) as { costMicros: number }).costMicros === net,
      {
        timeoutMs: 15_000,
        what: "the report's cost to equal billing's net",
      },
    );

    // 4. The experiment command puts half of the users in the ctr arm; the learner has seen the
    // page views and the click.
    const set = JSON.parse(await sh(`cd ${REPO_ROOT} && ${experimentCmd!}`)) as {
      arms: Record<string, number>;
    };
    expect(set.arms).toEqual({ quality: 50, ctr: 50 });
    const arms = new Set<string>();
    for (let i = 0; i < 40 && arms.size < 2; i++) {
      const a = JSON.parse(await sh(queryCmd!.replace('/v1/ads?', `/v1/ads?user=u${i}&`))) as { arm: string };
      arms.add(a.arm);
    }
    expect([...arms].sort()).toEqual(['ctr', 'quality']);
    await waitFor(
      async () => {
        const s = JSON.parse(await sh(learnerCmd!)) as { records: { pv: number; clicks: number } };
        return s.records.pv > 0 && s.records.clicks > 0;
      },
      { timeoutMs: 15_000, what: 'the learner to read the page views and the click' },
    );

    // 5. Ctrl-C stops everything.
    process.kill(-child.pid!, 'SIGINT');
    // npm re-raises the SIGINT its script ended on (the shell convention for Ctrl-C); the engine
    // itself logs that it stopped everything.
    const end = await exited;
    expect(end.code === 0 || end.signal === 'SIGINT', JSON.stringify(end)).toBe(true);
    expect(stderr).toMatch(/"msg":"stopped"/);
    await waitFor(() => pidsMentioning(dataDir).length === 0, { timeoutMs: 30_000, what: 'no process left' });
  });
});
