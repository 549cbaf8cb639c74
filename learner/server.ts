// Runs the learner: loads its checkpoint (or starts a new state), consumes pv and clicks
// (consumer.ts) into the trainer, and on two timers
//   - snapshot (--snapshot-every-ms, when anything was learned): writes the model's non-zero
//     weights as a new version (model-file.ts, atomic) and points <root>/learner/model at it, so
//     whoever ranks hot-loads it within seconds; older files beyond --keep-models are removed;
//   - checkpoint (--checkpoint-every-ms): writes the whole state with its Kafka positions
//     (checkpoint.ts, atomic). After kill -9 the learner resumes from it: the records after its
//     positions are read again and each is applied once to a state that did not have it.
// It registers under <root>/services/learner/<id> and serves /v1/learner/stats.
// Model versions only grow: a restarted learner continues after the newest of its checkpoint and
// the ZooKeeper pointer.
//
// Shutdown: deregister, stop the HTTP app, stop consuming, then a last checkpoint and snapshot.
// Concurrency: one event loop; timers run between batches (the trainer is synchronous), so every
// checkpoint is a consistent cut.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ImatchError } from '../core/errors.js';
import { createKafka, ensureTopics } from '../core/kafka.js';
import type { Logger } from '../core/logger.js';
import { serviceRegistration } from '../core/registrations.js';
import { gracefulStop, listen, register } from '../core/service-runtime.js';
import { type ModelPointer, zkPaths } from '../core/zk-paths.js';
import { connectZk, type Registration, type ZkClient } from '../core/zookeeper.js';
import { buildApp } from './app.js';
import { CheckpointError, encodeCheckpoint, readCheckpoint } from './checkpoint.js';
import { type LearnerConfig, stateDirOf } from './config.js';
import { LearnerConsumer } from './consumer.js';
import { createLearnerMetrics } from './metrics.js';
import { encodeModel, writeFileAtomic } from './model-file.js';
import { Trainer } from './trainer.js';

export interface RunningLearner {
  url: string;
  id: string;
  trainer(): Trainer;
  close(): Promise<void>;
}

const MODEL_FILE = /^model-(\d{10})\.ctr$/;

export async function startLearner(config: LearnerConfig, log: Logger): Promise<RunningLearner> {
  const stateDir = resolve(stateDirOf(config));
  const modelDir = join(stateDir, 'models');
  const checkpointPath = join(stateDir, 'checkpoint.bin');
  await mkdir(modelDir, { recursive: true });
  const paths = zkPaths(config.zkRoot);
  const metrics = createLearnerMetrics();

  let checkpoint: Awaited<ReturnType<typeof readCheckpoint>>;
  try {
    checkpoint = await readCheckpoint(checkpointPath);
  } catch (err) {
    if (err instanceof CheckpointError)
      throw new ImatchError(
        'IM_ERR_CONFIG',
        `${checkpointPath}: ${err.message}; remove the folder ${stateDir} to start learning from scratch`,
      );
    throw err;
  }
  const stateId = checkpoint?.stateId ?? randomUUID().slice(0, 8);
  const trainer =
    checkpoint === undefined
      ? new Trainer({
          ftrl: { alpha: config.alpha, beta: config.beta, l1: config.l1, l2: config.l2, bits: config.bits },
          attributionWindowMs: config.attributionWindowMs,
          holdOutPct: config.holdOutPct,
          evalWindow: config.evalWindow,
        })
      : Trainer.restore(checkpoint.trainer);
  if (checkpoint !== undefined)
    log.info(
      { stateId, examples: trainer.counts.trained, positions: checkpoint.trainer.positions },
      'resuming from the checkpoint',
    );
  let version = checkpoint?.modelVersion ?? 0;
  let weights = 0;
  /** Trainer counters at the last snapshot (a snapshot is written only when they moved). */
  let snapshotAt = -1;

  let zk: ZkClient | undefined;
  let consumer: LearnerConsumer | undefined;
  let registration: Registration | undefined;
  let snapshotTimer: NodeJS.Timeout | undefined;
  let checkpointTimer: NodeJS.Timeout | undefined;
  let busy: Promise<void> = Promise.resolve();

  const progress = () => trainer.counts.trained + trainer.counts.heldOut;

  const snapshot = async () => {
    if (progress() === snapshotAt || zk === undefined) return;
    const mark = progress();
    const { coords, weights: ws } = trainer.ftrl.nonZeroWeights();
    const next = version + 1;
    const bytes = encodeModel({
      version: next,
      bits: trainer.ftrl.params.bits,
      createdAtMs: Date.now(),
      examples: trainer.ftrl.examples,
      coords,
      weights: ws,
    });
    const path = join(modelDir, `model-${String(next).padStart(10, '0')}.ctr`);
    try {
      await writeFileAtomic(path, bytes);
      const pointer: ModelPointer = {
        version: next,
        path,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        bytes: bytes.length,
        weights: coords.length,
        examples: trainer.ftrl.examples,
        createdAt: new Date().toISOString(),
      };
      await zk.put(paths.learnerModel, JSON.stringify(pointer));
      version = next;
      weights = coords.length;
      snapshotAt = mark;
      metrics.snapshots.inc({ result: 'ok' });
      metrics.modelVersion.set(version);
      metrics.modelWeights.set(weights);
      log.debug({ version, weights, examples: pointer.examples }, 'model published');
      await pruneModels();
    } catch (err) {
      metrics.snapshots.inc({ result: 'failed' });
      log.error({ err, path }, 'model snapshot failed; the previous one stays');
    }
  };

  const pruneModels = async () => {
    const files = (await readdir(modelDir)).filter((f) => MODEL_FILE.test(f)).sort();
    for (const f of files.slice(0, Math.max(0, files.length - config.keepModels)))
      await rm(join(modelDir, f), { force: true });
  };

  const writeCheckpoint = async () => {
    try {
      const bytes = encodeCheckpoint({
        stateId,
        modelVersion: version,
        createdAtMs: Date.now(),
        trainer: trainer.state(),
      });
      await writeFileAtomic(checkpointPath, bytes);
      metrics.checkpoints.inc({ result: 'ok' });
    } catch (err) {
      metrics.checkpoints.inc({ result: 'failed' });
      log.error({ err, path: checkpointPath }, 'checkpoint failed; the previous one stays');
    }
  };

  /** Runs file work one at a time (a snapshot and a checkpoint never interleave). */
  const serial = (f: () => Promise<void>) => {
    busy = busy.then(f, f);
    return busy;
  };

  const app = buildApp({
    log,
    metrics,
    trainer: () => trainer,
    stateId,
    model: () => ({ version, weights }),
    readiness: () => {
      if (consumer === undefined) return 'not consuming yet';
      if (zk !== undefined && !zk.isConnected()) return 'ZooKeeper session lost';
      return undefined;
    },
  });

  const close = gracefulStop('learner', log, app, config.shutdownTimeoutMs, {
    registration: () => registration,
    afterStop: [
      ['stop consuming', () => consumer?.disconnect()],
      [
        'last checkpoint and snapshot',
        async () => {
          clearInterval(snapshotTimer);
          clearInterval(checkpointTimer);
          await serial(writeCheckpoint);
          await serial(snapshot);
        },
      ],
      ['close ZooKeeper', () => zk?.close()],
    ],
    summary: () => ({ examples: trainer.counts.trained, version }),
  });

  try {
    zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: config.zkSessionTimeoutMs, log });
    const node = await zk.get(paths.learnerModel);
    if (node !== null) {
      try {
        const p = JSON.parse(node.data.toString()) as ModelPointer;
        if (Number.isSafeInteger(p.version) && p.version > version) version = p.version;
      } catch {
        log.warn({ path: paths.learnerModel }, 'the model pointer is not JSON; it will be replaced');
      }
    }
    metrics.modelVersion.set(version);
    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: `${config.kafkaClientId}-learner`,
      log,
    });
    await ensureTopics(kafka, [config.topicPv, config.topicClicks]);
    const groupId = `${config.groupId}.${stateId}`;
    consumer = await LearnerConsumer.start({
      kafka,
      trainer: () => trainer,
      groupId,
      topicPv: config.topicPv,
      topicClicks: config.topicClicks,
      idleLagMs: config.idleLagMs,
      log,
      metrics,
    });
    snapshotTimer = setInterval(() => void serial(snapshot), config.snapshotEveryMs);
    checkpointTimer = setInterval(() => void serial(writeCheckpoint), config.checkpointEveryMs);
    const { url, id } = await listen(app, config);
    registration = await register(zk, `${paths.serviceKind('learner')}/${id}`, serviceRegistration(url, id));
    log.info({ url, id, stateId, groupId, stateDir, version }, 'learner listening');
    return {
      url,
      id,
      trainer: () => trainer,
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}
