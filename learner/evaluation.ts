// How good the click model is, measured on held-out impressions (examples the learner predicts
// but never trains on, learner/trainer.ts):
//   logLoss            mean of -(y log p + (1-y) log(1-p))
//   normalizedEntropy  logLoss / the entropy of the observed click rate (He et al., "Practical
//                      Lessons from Predicting Clicks on Ads at Facebook", 2014): < 1 means the
//                      model knows more than the average rate; lower is better
//   auc                probability that a clicked impression is scored above an unclicked one,
//                      from a histogram of 4,096 logit bins over [-16, 8] (ties in a bin count half)
//   calibration        predicted clicks / observed clicks (1 is perfect)
// Windowed: `recent` is the last 1-2 windows of examples (two buckets; the older is dropped when
// the newer fills), so the figures follow the model as it learns; `all` is since the start.
// Plain numbers and arrays, so a checkpoint stores it as JSON.

const BINS = 4096;
const LO = -16;
const HI = 8;
const EPS = 1e-15;

export interface EvalSums {
  impressions: number;
  clicks: number;
  sumP: number;
  sumLogLoss: number;
  /** Per logit bin: [impressions, clicks]. Sparse: bin -> counts. */
  bins: Record<number, [number, number]>;
}

export interface EvalFigures {
  impressions: number;
  clicks: number;
  logLoss: number | null;
  normalizedEntropy: number | null;
  auc: number | null;
  calibration: number | null;
}

export function emptySums(): EvalSums {
  return { impressions: 0, clicks: 0, sumP: 0, sumLogLoss: 0, bins: {} };
}

function binOf(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  const logit = Math.log(q / (1 - q));
  const b = Math.floor(((logit - LO) / (HI - LO)) * BINS);
  return Math.min(BINS - 1, Math.max(0, b));
}

export function addTo(s: EvalSums, p: number, clicked: boolean): void {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  s.impressions++;
  s.sumP += p;
  s.sumLogLoss -= clicked ? Math.log(q) : Math.log(1 - q);
  if (clicked) s.clicks++;
  const b = binOf(p);
  const bin = s.bins[b] ?? [0, 0];
  s.bins[b] = bin;
  bin[0]++;
  if (clicked) bin[1]++;
}

export function merge(a: EvalSums, b: EvalSums): EvalSums {
  const out: EvalSums = {
    impressions: a.impressions + b.impressions,
    clicks: a.clicks + b.clicks,
    sumP: a.sumP + b.sumP,
    sumLogLoss: a.sumLogLoss + b.sumLogLoss,
    bins: {},
  };
  for (const src of [a.bins, b.bins])
    for (const [k, [n, c]] of Object.entries(src)) {
      const bin = out.bins[Number(k)] ?? [0, 0];
      out.bins[Number(k)] = bin;
      bin[0] += n;
      bin[1] += c;
    }
  return out;
}

export function figures(s: EvalSums): EvalFigures {
  const { impressions: n, clicks } = s;
  if (n === 0)
    return {
      impressions: 0,
      clicks: 0,
      logLoss: null,
      normalizedEntropy: null,
      auc: null,
      calibration: null,
    };
  const logLoss = s.sumLogLoss / n;
  const rate = clicks / n;
  const entropy = rate <= 0 || rate >= 1 ? 0 : -(rate * Math.log(rate) + (1 - rate) * Math.log(1 - rate));
  const negatives = n - clicks;
  let auc: number | null = null;
  if (clicks > 0 && negatives > 0) {
    let negBelow = 0;
    let area = 0;
    const keys = Object.keys(s.bins)
      .map(Number)
      .sort((x, y) => x - y);
    for (const k of keys) {
      const [imps, pos] = s.bins[k]!;
      const neg = imps - pos;
      area += pos * (negBelow + neg / 2);
      negBelow += neg;
    }
    auc = area / (clicks * negatives);
  }
  return {
    impressions: n,
    clicks,
    logLoss,
    normalizedEntropy: entropy > 0 ? logLoss / entropy : null,
    auc,
    calibration: clicks > 0 ? s.sumP / clicks : null,
  };
}

/** Held-out figures since the start and over the recent window. */
export class Evaluation {
  all: EvalSums = emptySums();
  private older: EvalSums = emptySums();
  private newer: EvalSums = emptySums();

  constructor(readonly window: number) {
    if (!(window >= 1)) throw new RangeError('window must be >= 1');
  }

  add(p: number, clicked: boolean): void {
    addTo(this.all, p, clicked);
    addTo(this.newer, p, clicked);
    if (this.newer.impressions >= this.window) {
      this.older = this.newer;
      this.newer = emptySums();
    }
  }

  recent(): EvalFigures {
    return figures(merge(this.older, this.newer));
  }

  total(): EvalFigures {
    return figures(this.all);
  }

  state(): { all: EvalSums; older: EvalSums; newer: EvalSums } {
    return structuredClone({ all: this.all, older: this.older, newer: this.newer });
  }

  static restore(window: number, s: { all: EvalSums; older: EvalSums; newer: EvalSums }): Evaluation {
    const e = new Evaluation(window);
    e.all = structuredClone(s.all);
    e.older = structuredClone(s.older);
    e.newer = structuredClone(s.newer);
    return e;
  }
}
