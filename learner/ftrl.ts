// Online logistic regression by FTRL-Proximal (McMahan et al., "Ad Click Prediction: a View from
// the Trenches", KDD 2013, Algorithm 1), over hashed binary features: each example is a set of
// coordinates in [0, 2^bits) whose value is 1. Per coordinate i the learner keeps z_i and n_i (the
// sum of squared gradients, which gives each coordinate its own learning rate) and derives the
// weight lazily:
//   w_i = 0                                                   when |z_i| <= l1
//   w_i = -(z_i - sign(z_i) l1) / ((beta + sqrt(n_i)) / alpha + l2)   otherwise
// Predict: p = sigmoid(sum of w_i over the example's coordinates). Update with label y in {0, 1}:
//   g = p - y;  sigma_i = (sqrt(n_i + g^2) - sqrt(n_i)) / alpha;  z_i += g - sigma_i w_i;  n_i += g^2
// L1 keeps most weights exactly zero, so a model is its few non-zero weights (model-file.ts).
//
// Concurrency: a plain synchronous object; one learner owns it.

export interface FtrlParams {
  /** Learning-rate scale (alpha; the paper's per-coordinate rate is alpha / (beta + sqrt(n))). */
  alpha: number;
  beta: number;
  /** L1 strength: weights whose |z| stays at or below it are exactly zero. */
  l1: number;
  l2: number;
  /** Hash space: 2^bits coordinates. */
  bits: number;
}

export const DEFAULT_FTRL: Readonly<FtrlParams> = Object.freeze({
  alpha: 0.05,
  beta: 1,
  l1: 1,
  l2: 1,
  bits: 22,
});

/** Logits are clamped to this range before the sigmoid (no Infinity, no 0/1 probabilities). */
const MAX_LOGIT = 35;

export function sigmoid(x: number): number {
  const t = Math.max(-MAX_LOGIT, Math.min(MAX_LOGIT, x));
  return 1 / (1 + Math.exp(-t));
}

export class Ftrl {
  readonly z: Float64Array;
  readonly n: Float64Array;
  readonly size: number;
  /** Examples learned from. */
  examples = 0;

  constructor(readonly params: FtrlParams = DEFAULT_FTRL) {
    if (!Number.isInteger(params.bits) || params.bits < 1 || params.bits > 28)
      throw new RangeError('bits must be an integer 1..28');
    if (!(params.alpha > 0) || !(params.beta >= 0) || !(params.l1 >= 0) || !(params.l2 >= 0))
      throw new RangeError('alpha must be > 0 and beta, l1, l2 >= 0');
    this.size = 2 ** params.bits;
    this.z = new Float64Array(this.size);
    this.n = new Float64Array(this.size);
  }

  /** The weight of coordinate i (0 for most, by L1). */
  weight(i: number): number {
    const z = this.z[i]!;
    const { l1, l2, alpha, beta } = this.params;
    if (Math.abs(z) <= l1) return 0;
    return -(z - Math.sign(z) * l1) / ((beta + Math.sqrt(this.n[i]!)) / alpha + l2);
  }

  /** Sum of the weights of the example's coordinates. */
  logit(coords: ArrayLike<number>): number {
    let s = 0;
    for (let k = 0; k < coords.length; k++) s += this.weight(coords[k]!);
    return s;
  }

  predict(coords: ArrayLike<number>): number {
    return sigmoid(this.logit(coords));
  }

  /** One example: predicts, then updates every coordinate it has. Returns the prediction made before. */
  update(coords: ArrayLike<number>, clicked: boolean): number {
    const { alpha } = this.params;
    // Weights first (all from the state before this example), as the algorithm states.
    const w = new Float64Array(coords.length);
    let s = 0;
    for (let k = 0; k < coords.length; k++) {
      w[k] = this.weight(coords[k]!);
      s += w[k]!;
    }
    const p = sigmoid(s);
    const g = p - (clicked ? 1 : 0);
    const g2 = g * g;
    for (let k = 0; k < coords.length; k++) {
      const i = coords[k]!;
      const n = this.n[i]!;
      const sigma = (Math.sqrt(n + g2) - Math.sqrt(n)) / alpha;
      this.z[i] = this.z[i]! + g - sigma * w[k]!;
      this.n[i] = n + g2;
    }
    this.examples++;
    return p;
  }

  /** The non-zero weights, by coordinate ascending (what a model file holds). */
  nonZeroWeights(): { coords: Uint32Array; weights: Float32Array } {
    const idx: number[] = [];
    const ws: number[] = [];
    for (let i = 0; i < this.size; i++) {
      if (Math.abs(this.z[i]!) <= this.params.l1) continue;
      const w = this.weight(i);
      if (w !== 0) {
        idx.push(i);
        ws.push(w);
      }
    }
    return { coords: Uint32Array.from(idx), weights: Float32Array.from(ws) };
  }
}
