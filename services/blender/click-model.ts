// The click model the blender ranks the `ctr` arm with, hot-loaded from the learner's pointer
// `<root>/learner/model` (core/zk-paths.ts ModelPointer) without a restart and without a failed
// query: the new model is read, verified (learner/model-file.ts: checksum, format and features
// version, order, finite non-zero weights) and only then replaces the reference requests read. A
// model that fails any check is refused (imatch_blender_model_loads_total{result="refused"}, a log
// line naming the problem) and the last good one keeps serving. A pointer whose sha256 differs from
// the file read is refused too (a file replaced under the pointer). A version not newer than the
// loaded one is ignored unless its checksum differs (a learner that restarted from an older state
// publishes a version again).
//
// Concurrency: one event loop; loads run one at a time (a newer pointer that arrives while a load
// runs is loaded after it); requests read `current` once.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Logger } from '../../core/logger.js';
import type { ModelPointer } from '../../core/zk-paths.js';
import { CtrModel, decodeModel } from '../../learner/model-file.js';
import type { BlenderMetrics } from './metrics.js';

export class ClickModel {
  private model: CtrModel | undefined;
  private sha = '';
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly log: Logger,
    private readonly metrics: Pick<BlenderMetrics, 'modelLoads' | 'modelLoadSeconds' | 'modelVersion'>,
  ) {}

  /** The model in force (undefined: none loaded yet, the `ctr` arm ranks by priors). */
  get current(): CtrModel | undefined {
    return this.model;
  }

  /** The pointer's znode changed (null: deleted; the loaded model stays). Resolves when handled. */
  onPointer(data: Buffer | undefined): Promise<void> {
    this.queue = this.queue.then(() => this.load(data));
    return this.queue;
  }

  private async load(data: Buffer | undefined): Promise<void> {
    if (data === undefined || data.length === 0) return;
    let pointer: ModelPointer;
    try {
      pointer = JSON.parse(data.toString()) as ModelPointer;
      if (typeof pointer.path !== 'string' || typeof pointer.sha256 !== 'string')
        throw new TypeError('the pointer lacks path or sha256');
    } catch (err) {
      this.refuse({ err }, 'model pointer unreadable');
      return;
    }
    if (pointer.sha256 === this.sha) return;
    const started = performance.now();
    try {
      const bytes = await readFile(pointer.path);
      const sha = createHash('sha256').update(bytes).digest('hex');
      if (sha !== pointer.sha256)
        throw new Error(
          `file checksum ${sha.slice(0, 12)} is not the pointer's ${pointer.sha256.slice(0, 12)}`,
        );
      const model = new CtrModel(decodeModel(bytes));
      this.model = model;
      this.sha = sha;
      const seconds = (performance.now() - started) / 1000;
      this.metrics.modelLoads.inc({ result: 'loaded' });
      this.metrics.modelLoadSeconds.observe(seconds);
      this.metrics.modelVersion.set(model.version);
      this.log.info(
        { version: model.version, weights: model.contents.coords.length, ms: Math.round(seconds * 1000) },
        'click model loaded',
      );
    } catch (err) {
      this.refuse(
        { err, path: pointer.path, version: pointer.version },
        'click model refused; the last good one keeps serving',
      );
    }
  }

  private refuse(fields: Record<string, unknown>, message: string): void {
    this.metrics.modelLoads.inc({ result: 'refused' });
    this.log.error({ ...fields, serving: this.model?.version ?? 0 }, message);
  }
}
