// The blender's run-time configuration: the QRW dictionary (`<root>/config/qrw`), the pricing
// rule (`<root>/config/pricing`) and the experiment arms (`<root>/config/experiment`,
// core/experiment.ts), all JSON znodes watched in ZooKeeper by server.ts and applied
// without a restart. This class only holds the current values and validates updates: a bad update
// is refused (logged, counted) and the previous value stays; a deleted znode falls back to the
// start-up value (empty dictionary / the --reserve-micros and --step-micros flags / every user in
// the `quality` arm).
//
// Concurrency: one event loop; each update replaces one frozen object reference, so a request
// reads one consistent dictionary and one consistent rule (it reads each once per request).
import { DEFAULT_EXPERIMENT, type ExperimentConfig, parseExperiment } from '../../core/experiment.js';
import type { Logger } from '../../core/logger.js';
import type { BlenderMetrics } from './metrics.js';
import { type PricingRule, pricingRuleProblem } from './pricing.js';
import { compileQrwDictionary, EMPTY_QRW, type QrwDictionary } from './qrw.js';

export class RuntimeSettings {
  private currentQrw: QrwDictionary = EMPTY_QRW;
  private currentPricing: PricingRule;
  private currentExperiment: ExperimentConfig = DEFAULT_EXPERIMENT;

  constructor(
    private readonly defaults: PricingRule,
    private readonly log: Logger,
    private readonly metrics?: Pick<BlenderMetrics, 'configReloads'>,
  ) {
    this.currentPricing = Object.freeze({ ...defaults });
  }

  get qrw(): QrwDictionary {
    return this.currentQrw;
  }

  get pricing(): PricingRule {
    return this.currentPricing;
  }

  get experiment(): ExperimentConfig {
    return this.currentExperiment;
  }

  /** Applies the content of config/experiment `{arms: {quality: 50, ctr: 50}}`. */
  updateExperiment(data: Buffer | string | undefined, version: string): boolean {
    if (data === undefined || data.length === 0) {
      this.currentExperiment = DEFAULT_EXPERIMENT;
      this.metrics?.configReloads.inc({ config: 'experiment', result: 'absent' });
      this.log.info({ version }, 'experiment config absent: every user in the quality arm');
      return true;
    }
    try {
      this.currentExperiment = parseExperiment(JSON.parse(data.toString()));
      this.metrics?.configReloads.inc({ config: 'experiment', result: 'applied' });
      this.log.info({ version, arms: this.currentExperiment.arms }, 'experiment applied');
      return true;
    } catch (err) {
      this.log.error({ err, version }, 'experiment config refused; keeping the previous arms');
      this.metrics?.configReloads.inc({ config: 'experiment', result: 'refused' });
      return false;
    }
  }

  /** Applies the content of config/qrw (undefined: the znode does not exist). Returns whether it was applied. */
  updateQrw(data: Buffer | string | undefined, version: string): boolean {
    if (data === undefined || data.length === 0) {
      this.currentQrw = EMPTY_QRW;
      this.log.info({ version }, 'QRW dictionary absent: normalization only');
      this.metrics?.configReloads.inc({ config: 'qrw', result: 'absent' });
      return true;
    }
    try {
      const { dictionary, problems } = compileQrwDictionary(JSON.parse(data.toString()), version);
      if (problems.length > 0)
        this.log.warn(
          { version, problems: problems.slice(0, 20), count: problems.length },
          'QRW entries skipped',
        );
      this.currentQrw = dictionary;
      this.log.info(
        { version, synonyms: dictionary.synonyms.size, stopwords: dictionary.stopwords.size },
        'QRW dictionary applied',
      );
      this.metrics?.configReloads.inc({ config: 'qrw', result: 'applied' });
      return true;
    } catch (err) {
      this.log.error({ err, version }, 'QRW dictionary refused; keeping the previous one');
      this.metrics?.configReloads.inc({ config: 'qrw', result: 'refused' });
      return false;
    }
  }

  /** Applies the content of config/pricing `{reserveMicros, stepMicros}` (either may be omitted). */
  updatePricing(data: Buffer | string | undefined, version: string): boolean {
    if (data === undefined || data.length === 0) {
      this.currentPricing = Object.freeze({ ...this.defaults });
      this.metrics?.configReloads.inc({ config: 'pricing', result: 'absent' });
      this.log.info({ version, ...this.defaults }, 'pricing config absent: start-up values');
      return true;
    }
    try {
      const doc = JSON.parse(data.toString()) as unknown;
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
        throw new TypeError('config/pricing must be a JSON object {reserveMicros, stepMicros}');
      const extra = Object.keys(doc).filter((k) => k !== 'reserveMicros' && k !== 'stepMicros');
      if (extra.length > 0) throw new TypeError(`unknown pricing keys ${extra.join(', ')}`);
      const merged = { ...this.defaults, ...(doc as Partial<PricingRule>) };
      const problem = pricingRuleProblem(merged);
      if (problem !== undefined) throw new TypeError(problem);
      this.currentPricing = Object.freeze({
        reserveMicros: merged.reserveMicros,
        stepMicros: merged.stepMicros,
      });
      this.log.info({ version, ...this.currentPricing }, 'pricing rule applied');
      this.metrics?.configReloads.inc({ config: 'pricing', result: 'applied' });
      return true;
    } catch (err) {
      this.log.error({ err, version }, 'pricing config refused; keeping the previous rule');
      this.metrics?.configReloads.inc({ config: 'pricing', result: 'refused' });
      return false;
    }
  }
}
