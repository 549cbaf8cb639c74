import { describe, expect, it } from 'vitest';
import { ImatchError } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import type { IndexPointer } from '../../core/zk-paths.js';
import { IndexHolder } from './index-holder.js';
import { createSearcherMetrics } from './metrics.js';

// A stand-in for a loaded column: the holder never looks inside the index.
interface FakeIndex {
  dir: string;
  column: number;
}

const pointer = (version: string, columns = 2): IndexPointer => ({
  version,
  dir: `/store/${version}`,
  columns,
  watermark: 7,
  publishedAt: '2025-01-01T00:00:00.000Z',
});

function setup(
  load: (dir: string, column: number) => Promise<FakeIndex>,
  extra: { catchUp?: () => Promise<void> } = {},
) {
  const metrics = createSearcherMetrics({ facts: () => undefined, processMetrics: false });
  const swapped: string[] = [];
  const holder = new IndexHolder<FakeIndex>({
    column: 1,
    load,
    log: silentLogger(),
    metrics,
    onSwapped: (s) => {
      swapped.push(s.version);
    },
    ...(extra.catchUp === undefined ? {} : { catchUp: extra.catchUp }),
  });
  return { holder, metrics, swapped };
}

async function counter(metrics: ReturnType<typeof createSearcherMetrics>, name: string): Promise<number> {
  const m = (await metrics.registry.getMetricsAsJSON()).find((x) => x.name === name);
  return (m?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

describe('index holder', () => {
  it('serves nothing until the first version loads, then serves it', async () => {
    const { holder, metrics, swapped } = setup(async (dir, column) => ({ dir, column }));
    expect(holder.current).toBeUndefined();
    holder.request(pointer('v1'));
    await holder.idle();
    expect(holder.current?.version).toBe('v1');
    expect(holder.current?.index).toEqual({ dir: '/store/v1', column: 1 });
    expect(holder.current?.watermark).toBe(7);
    expect(swapped).toEqual(['v1']);
    expect(await counter(metrics, 'imatch_searcher_swaps_total')).toBe(1);
  });

  it('keeps serving the old version while the new one loads, then switches', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { holder } = setup(async (dir, column) => {
      if (dir.endsWith('v2')) await gate;
      return { dir, column };
    });
    holder.request(pointer('v1'));
    await holder.idle();
    const before = holder.current;
    holder.request(pointer('v2'));
    await Promise.resolve();
    expect(holder.busy).toBe(true);
    expect(holder.current).toBe(before);
    release();
    await holder.idle();
    expect(holder.current?.version).toBe('v2');
    // A query that read the old reference still holds a complete old version.
    expect(before?.index.dir).toBe('/store/v1');
  });

  it('refuses a corrupt version with its reason and keeps the old one', async () => {
    const { holder, metrics, swapped } = setup(async (dir, column) => {
      if (dir.endsWith('bad'))
        throw new ImatchError('IM_ERR_INDEX_CORRUPT', 'checksum mismatch in col-1.seg');
      return { dir, column };
    });
    holder.request(pointer('v1'));
    await holder.idle();
    holder.request(pointer('bad'));
    await holder.idle();
    expect(holder.current?.version).toBe('v1');
    expect(holder.takeOutcomes()).toEqual([
      { kind: 'swapped', version: 'v1', loadMs: expect.any(Number) },
      {
        kind: 'refused',
        version: 'bad',
        code: 'IM_ERR_INDEX_CORRUPT',
        reason: 'checksum mismatch in col-1.seg',
      },
    ]);
    expect(swapped).toEqual(['v1']);
    expect(await counter(metrics, 'imatch_searcher_swap_failures_total')).toBe(1);
    const text = await metrics.registry.metrics();
    expect(text).toContain('imatch_searcher_swap_failures_total{reason="IM_ERR_INDEX_CORRUPT"} 1');
  });

  it('refuses a version that has no column for this replica', async () => {
    let loads = 0;
    const { holder } = setup(async (dir, column) => {
      loads++;
      return { dir, column };
    });
    holder.request(pointer('v1', 1));
    await holder.idle();
    expect(holder.current).toBeUndefined();
    expect(loads).toBe(0);
    expect(holder.takeOutcomes()[0]).toMatchObject({
      kind: 'refused',
      version: 'v1',
      code: 'IM_ERR_INDEX_MISSING',
      reason: 'version v1 has 1 column(s); this replica serves column 1',
    });
  });

  it('refuses a folder that holds another version than the pointer names', async () => {
    const metrics = createSearcherMetrics({ facts: () => undefined, processMetrics: false });
    const holder = new IndexHolder<FakeIndex>({
      column: 0,
      load: async (dir, column) => ({ dir, column }),
      versionOf: () => 'v0',
      log: silentLogger(),
      metrics,
    });
    holder.request(pointer('v1'));
    await holder.idle();
    expect(holder.current).toBeUndefined();
    expect(holder.takeOutcomes()).toEqual([
      {
        kind: 'refused',
        version: 'v1',
        code: 'IM_ERR_INDEX_MISSING',
        reason: 'folder /store/v1 holds version v0, but the pointer names v1',
      },
    ]);
  });

  it('loads only the latest of several versions published during a load', async () => {
    const loaded: string[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const { holder, swapped } = setup(async (dir, column) => {
      loaded.push(dir);
      if (dir.endsWith('v1')) await gate;
      return { dir, column };
    });
    holder.request(pointer('v1'));
    holder.request(pointer('v2'));
    holder.request(pointer('v3'));
    release();
    await holder.idle();
    expect(loaded).toEqual(['/store/v1', '/store/v3']);
    expect(swapped).toEqual(['v1', 'v3']);
    expect(holder.current?.version).toBe('v3');
  });

  it('ignores a pointer to the version already served', async () => {
    let loads = 0;
    const { holder } = setup(async (dir, column) => {
      loads++;
      return { dir, column };
    });
    holder.request(pointer('v1'));
    await holder.idle();
    holder.request(pointer('v1'));
    await holder.idle();
    expect(loads).toBe(1);
    expect(holder.takeOutcomes().map((o) => o.kind)).toEqual(['swapped', 'unchanged']);
  });

  it('runs the catch-up hook on the new index before switching to it', async () => {
    const seen: (string | undefined)[] = [];
    let holderRef: IndexHolder<FakeIndex> | undefined;
    const { holder } = setup(async (dir, column) => ({ dir, column }), {
      catchUp: async () => {
        seen.push(holderRef?.current?.version);
      },
    });
    holderRef = holder;
    holder.request(pointer('v1'));
    await holder.idle();
    holder.request(pointer('v2'));
    await holder.idle();
    expect(seen).toEqual([undefined, 'v1']);
    expect(holder.current?.version).toBe('v2');
  });
});
