// The BP's load of the change scenarios and their end-of-scenario checks, shared by
// changes.test.ts and zk-leader.test.ts: `workers` clients post batches of the generated change
// stream at a steady pace through a ChangeRecorder (each batch re-sent until acknowledged, as a
// BP does), and afterwards one marker change every column applies lets the checks compare each
// replica's /debug/dump with the reference (the snapshot plus every acknowledged change in id
// order, test/helpers/change-reference.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import type { Change, ChangeMessage } from '../../../core/model.js';
import type { ReferenceState } from '../../helpers/change-reference.js';
import { dumpOf, markerChange } from '../../helpers/incremental.js';
import { waitFor } from '../../helpers/wait.js';
import type { Engine, Service } from './engine.js';
import {
  ackedAreDurable,
  type ChangeRecorder,
  firstDifference,
  type Invariant,
  idsIncreaseInAckOrder,
  idsUnique,
} from './history.js';
import { readTopic } from './topic.js';

export class ChangeLoad {
  #stop = false;
  #next = 0;
  readonly #done: Promise<void>;

  constructor(
    rec: ChangeRecorder,
    changes: Change[],
    o: { workers: number; batch: number; batchesPerSecond: number },
  ) {
    const worker = async (w: number) => {
      const started = Date.now();
      for (let k = 0; !this.#stop && this.#next < changes.length; k++) {
        const slice = changes.slice(this.#next, this.#next + o.batch);
        this.#next += o.batch;
        await rec.postUntilAcked(w, slice, 90_000);
        const wait = started + ((k + 1) * 1000) / o.batchesPerSecond - Date.now();
        if (wait > 0) await sleep(wait);
      }
    };
    this.#done = Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w))).then(() => undefined);
  }

  async stop(): Promise<void> {
    this.#stop = true;
    await this.#done;
  }
}

/**
 * The change invariants: ids unique, increasing in acknowledgement order, every acknowledged
 * message durable in the topic once, and every replica equal to the reference after a marker.
 */
export async function checkChanges(
  engine: Engine,
  rec: ChangeRecorder,
  snapshot: ReferenceState,
  searchers: { s: Service; column: number }[],
  columns: number,
): Promise<{ invariants: Invariant[]; messages: number }> {
  const marker = await rec.postUntilAcked(0, [markerChange(1)], 90_000);
  const markerId = marker.ids![0]!;
  const acked = rec.ackedMessages();
  const invariants: Invariant[] = [idsUnique(rec.ops), idsIncreaseInAckOrder(rec.ops)];
  const inTopic = await readTopic<ChangeMessage>(engine.cluster, engine.topics.changes);
  invariants.push(ackedAreDurable(acked, inTopic));
  let dumpBroken: string | null = null;
  try {
    const reference = snapshot.clone();
    reference.apply(acked);
    for (const { s, column } of searchers) {
      const d = await waitFor(
        async () => {
          const x = await dumpOf(s.url).catch(() => undefined);
          return x !== undefined && x.appliedId >= markerId ? x : undefined;
        },
        { what: `${s.host} to apply marker ${markerId}`, timeoutMs: 120_000, intervalMs: 250 },
      );
      const diff = firstDifference(d.dump, reference.column(column, columns));
      if (diff !== null) {
        dumpBroken = `${s.host}: ${diff}`;
        break;
      }
    }
  } catch (err) {
    dumpBroken = (err as Error).message.slice(0, 300);
  }
  invariants.push({ name: 'every replica = snapshot + acknowledged changes', broken: dumpBroken });
  return { invariants, messages: acked.length };
}
