// The learner's pure core: PV records and click decisions in, FTRL updates out (no I/O). Each shown
// ad of a PV record is one impression keyed by its click id (pvId:position); attribution.ts turns
// it into exactly one example (clicked when a valid click comes within the window, else not
// clicked); features.ts hashes it, with its real position, into coordinates.
//   - Held out: impressions whose click id hashes into the first `holdOutPct` of 100 buckets are
//     predicted but never trained on; evaluation.ts measures the model on them.
//   - Positions: the next Kafka offset of every topic partition whose records are in this state,
//     so a checkpoint of the trainer is also a consistent position to resume from (learner/
//     checkpoint.ts): nothing is counted twice, nothing is skipped.
//   - Time: attribution runs on event time; the consumer feeds `advance` a watermark.
//
// Concurrency: synchronous; one learner process owns it.
import type { ClickDecision } from '../core/click-records.js';
import { clickIdOf } from '../core/click-records.js';
import { fnv1a32 } from '../core/partition.js';
import type { PvRecord } from '../core/pv-record.js';
import { Attribution, type AttributionState, type Example } from './attribution.js';
import { type EvalSums, Evaluation } from './evaluation.js';
import { adCoords, queryFeatures } from './features.js';
import { Ftrl, type FtrlParams } from './ftrl.js';

export interface TrainerOptions {
  ftrl: FtrlParams;
  attributionWindowMs: number;
  /** Percent of impressions held out from training for evaluation (0-50). */
  holdOutPct: number;
  /** Held-out examples per evaluation window (the `recent` figures cover 1-2 windows). */
  evalWindow: number;
}

export interface TrainerCounts {
  /** Examples trained on. */
  trained: number;
  /** Examples held out (evaluated only). */
  heldOut: number;
  pvRecords: number;
  clickDecisions: number;
  /** Records skipped because they were not readable (counted by the consumer). */
  unreadable: number;
}

/** The whole state of a trainer (a checkpoint holds it). */
export interface TrainerState {
  options: TrainerOptions;
  positions: Record<string, string>;
  watermarkMs: number;
  counts: TrainerCounts;
  examples: number;
  /** FTRL's non-zero coordinates (n > 0) with their z and n. */
  coords: Uint32Array;
  z: Float64Array;
  n: Float64Array;
  attribution: AttributionState<Uint32Array>;
  evaluation: { all: EvalSums; older: EvalSums; newer: EvalSums };
}

export function isHeldOut(clickId: string, holdOutPct: number): boolean {
  return fnv1a32(`ho:${clickId}`) % 100 < holdOutPct;
}

/** The hashed features of every shown ad of a PV record, at the position it was shown. */
export function impressionsOf(pv: PvRecord, bits: number): { clickId: string; coords: Uint32Array }[] {
  const q = queryFeatures(
    {
      queryTokens: pv.query.normalized === '' ? [] : pv.query.normalized.split(' '),
      hour: new Date(pv.timeMs).getUTCHours(),
      region: pv.region,
      category: pv.category,
    },
    bits,
  );
  return pv.ads.map((ad) => ({ clickId: clickIdOf(pv.pvId, ad.position), coords: adCoords(ad, q) }));
}

export class Trainer {
  readonly ftrl: Ftrl;
  attribution: Attribution<Uint32Array>;
  evaluation: Evaluation;
  /** `topic:partition` -> next offset to read. */
  readonly positions = new Map<string, string>();
  watermarkMs = 0;
  readonly counts: TrainerCounts = { trained: 0, heldOut: 0, pvRecords: 0, clickDecisions: 0, unreadable: 0 };

  constructor(readonly options: TrainerOptions) {
    if (!(options.holdOutPct >= 0 && options.holdOutPct <= 50))
      throw new RangeError('holdOutPct must be 0-50');
    this.ftrl = new Ftrl(options.ftrl);
    this.attribution = new Attribution(options.attributionWindowMs);
    this.evaluation = new Evaluation(options.evalWindow);
  }

  /** Next offset of a partition stored in this state (undefined: none yet). */
  nextOffset(topic: string, partition: number): bigint | undefined {
    const o = this.positions.get(`${topic}:${partition}`);
    return o === undefined ? undefined : BigInt(o);
  }

  setNextOffset(topic: string, partition: number, next: bigint): void {
    this.positions.set(`${topic}:${partition}`, next.toString());
  }

  pageView(pv: PvRecord): void {
    this.counts.pvRecords++;
    for (const { clickId, coords } of impressionsOf(pv, this.options.ftrl.bits))
      this.learn(this.attribution.impression(clickId, coords, pv.timeMs));
  }

  click(d: Pick<ClickDecision, 'clickId' | 'billable' | 'clickedAtMs'>): void {
    this.counts.clickDecisions++;
    this.learn(this.attribution.click(d.clickId, d.billable, d.clickedAtMs));
  }

  /** Event time reached `watermarkMs` (never moves back): impressions past the window become negatives. */
  advance(watermarkMs: number): void {
    if (watermarkMs <= this.watermarkMs) return;
    this.watermarkMs = watermarkMs;
    this.learn(this.attribution.advance(watermarkMs));
  }

  private learn(examples: Example<Uint32Array>[]): void {
    for (const e of examples) {
      if (isHeldOut(e.clickId, this.options.holdOutPct)) {
        this.evaluation.add(this.ftrl.predict(e.impression), e.clicked);
        this.counts.heldOut++;
      } else {
        this.ftrl.update(e.impression, e.clicked);
        this.counts.trained++;
      }
    }
  }

  state(): TrainerState {
    const { z, n } = this.ftrl;
    let count = 0;
    for (let i = 0; i < n.length; i++) if (n[i] !== 0) count++;
    const coords = new Uint32Array(count);
    const zs = new Float64Array(count);
    const ns = new Float64Array(count);
    for (let i = 0, k = 0; i < n.length; i++)
      if (n[i] !== 0) {
        coords[k] = i;
        zs[k] = z[i]!;
        ns[k] = n[i]!;
        k++;
      }
    return {
      options: this.options,
      positions: Object.fromEntries(this.positions),
      watermarkMs: this.watermarkMs,
      counts: { ...this.counts },
      examples: this.ftrl.examples,
      coords,
      z: zs,
      n: ns,
      attribution: this.attribution.state(),
      evaluation: this.evaluation.state(),
    };
  }

  /** A trainer that goes on exactly where `s` was taken (options from the state, not from flags). */
  static restore(s: TrainerState): Trainer {
    const t = new Trainer(s.options);
    for (let k = 0; k < s.coords.length; k++) {
      const i = s.coords[k]!;
      t.ftrl.z[i] = s.z[k]!;
      t.ftrl.n[i] = s.n[k]!;
    }
    t.ftrl.examples = s.examples;
    for (const [k, v] of Object.entries(s.positions)) t.positions.set(k, v);
    t.watermarkMs = s.watermarkMs;
    Object.assign(t.counts, s.counts);
    t.attribution = Attribution.restore(s.options.attributionWindowMs, s.attribution);
    t.evaluation = Evaluation.restore(s.options.evalWindow, s.evaluation);
    return t;
  }
}
