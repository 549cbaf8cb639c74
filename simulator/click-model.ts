// The simulated users' hidden true click model: what the learner has to discover. Owns the appeal
// of each (keyword, offer) pair, the position bias, and each impression's click decision and
// human delay. Everything is a pure function of the seed and the impression's identity
// (query index, position, keyword, offer), never of call order or the engine's request id, so
// the same seed and the same answers give the same clicks whatever the concurrency.
//
//   appeal(keyword, offer) = median x exp(offerSigma x z_offer + pairSigma x z_pair), capped
//   P(click)               = appeal x bias(position) x noise,   noise = exp(noiseSigma x z - s^2/2)
//   bias(position)         = 1 / position^positionExponent
//
// z_offer is one standard normal per offer (some offers are liked wherever they show), z_pair one
// per (keyword, offer) (an offer fits some keywords better than others). With the defaults the
// mean click-through at position 1 is about 5% and the best tenth of pairs is clicked about 5x
// as often as the worst tenth. Appeal ignores the advertiser's `quality`: ranking by quality
// alone cannot find the good ads, a click model can.
//
// Synchronous and stateless apart from the seeded root stream.
import { Rng } from '../bench/gen/rng.js';

export interface ClickModelOptions {
  /** Median appeal of a pair (its click-through at position 1 before noise). Default 0.04. */
  medianAppeal?: number;
  /** Spread of the per-offer factor (log scale). Default 0.6. */
  offerSigma?: number;
  /** Spread of the per-(keyword, offer) factor (log scale). Default 0.5. */
  pairSigma?: number;
  /** Spread of the per-impression noise (log scale; its mean is 1). Default 0.3. */
  noiseSigma?: number;
  /** bias(position) = 1 / position^positionExponent. Default 0.8. */
  positionExponent?: number;
  /** No pair is more appealing than this. Default 0.5. */
  maxAppeal?: number;
  /** Clicks come this long after the page view at the soonest (ms). Default 1,500. */
  minDelayMs?: number;
  /** ...and at the latest (ms). Default 8,000. */
  maxDelayMs?: number;
}

/** One impression as the model sees it: which page (query index), where, what. */
export interface Impression {
  queryIndex: number;
  position: number;
  keyword: string;
  offerId: string;
}

export interface ClickOutcome {
  probability: number;
  clicked: boolean;
  /** Time from the page view to the click (ms); meaningful only when clicked. */
  delayMs: number;
}

export class TrueClickModel {
  private readonly root: Rng;
  private readonly median: number;
  private readonly offerSigma: number;
  private readonly pairSigma: number;
  private readonly noiseSigma: number;
  private readonly exponent: number;
  private readonly maxAppeal: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;

  constructor(seed: string, options: ClickModelOptions = {}) {
    this.root = Rng.fromSeed(`simulate:${seed}`);
    this.median = options.medianAppeal ?? 0.04;
    this.offerSigma = options.offerSigma ?? 0.6;
    this.pairSigma = options.pairSigma ?? 0.5;
    this.noiseSigma = options.noiseSigma ?? 0.3;
    this.exponent = options.positionExponent ?? 0.8;
    this.maxAppeal = options.maxAppeal ?? 0.5;
    this.minDelayMs = options.minDelayMs ?? 1_500;
    this.maxDelayMs = options.maxDelayMs ?? 8_000;
    if (this.maxDelayMs < this.minDelayMs) throw new RangeError('maxDelayMs must be >= minDelayMs');
  }

  /** How much users like this offer for this keyword: its click-through at position 1, before noise. */
  appeal(keyword: string, offerId: string): number {
    const zOffer = this.root.derive(`offer\u0000${offerId}`).normal();
    const zPair = this.root.derive(`pair\u0000${keyword}\u0000${offerId}`).normal();
    return Math.min(
      this.maxAppeal,
      this.median * Math.exp(this.offerSigma * zOffer + this.pairSigma * zPair),
    );
  }

  /** How much less a lower position is looked at (1 at position 1). */
  bias(position: number): number {
    return 1 / position ** this.exponent;
  }

  /** Whether this impression is clicked, and after how long. */
  decide(imp: Impression): ClickOutcome {
    // The index packs (query index, position); positions are at most 20 (the blender's MAX_ADS).
    const rng = this.root.derive(`impression\u0000${imp.offerId}`, imp.queryIndex * 32 + imp.position);
    const s = this.noiseSigma;
    const noise = Math.exp(s * rng.normal() - (s * s) / 2);
    const probability = Math.min(1, this.appeal(imp.keyword, imp.offerId) * this.bias(imp.position) * noise);
    const clicked = rng.float() < probability;
    // Human reading time: log-normal around 2.5 s, kept inside [minDelayMs, maxDelayMs].
    const delayMs = Math.round(
      Math.min(this.maxDelayMs, Math.max(this.minDelayMs, rng.logNormal(2_500, 0.5))),
    );
    return { probability, clicked, delayMs };
  }
}
