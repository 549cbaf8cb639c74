// Settings of the learner (`imatch learner`): the shared ZooKeeper, Kafka and HTTP settings, the
// FTRL hyper-parameters (ftrl.ts), the attribution window, the held-out share, and how often the
// model is published and the whole state checkpointed. Read once, then frozen.
import { type Static, Type } from '@sinclair/typebox';
import { CommonSettings, HttpSettings, KafkaSettings, ZkSettings } from '../core/config.js';
import { IdSetting, ServiceSettings } from '../core/service-runtime.js';
import { DEFAULT_FTRL } from './ftrl.js';

export const LearnerConfig = Type.Object(
  {
    ...CommonSettings,
    ...ZkSettings,
    ...KafkaSettings,
    ...HttpSettings,
    ...ServiceSettings,
    ...IdSetting,
    port: Type.Integer({
      default: 8086,
      minimum: 0,
      maximum: 65535,
      description: 'Port to listen on (0 = any free port)',
    }),
    stateDir: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Folder of the checkpoint and the model files (default: <data-dir>/learner)',
      }),
    ),
    groupId: Type.String({
      default: 'imatch-learner',
      description:
        "Kafka consumer group prefix; the state's own id is appended (new state, read from the start)",
    }),
    alpha: Type.Number({
      default: DEFAULT_FTRL.alpha,
      exclusiveMinimum: 0,
      description: 'FTRL learning rate alpha',
    }),
    beta: Type.Number({ default: DEFAULT_FTRL.beta, minimum: 0, description: 'FTRL beta' }),
    l1: Type.Number({ default: DEFAULT_FTRL.l1, minimum: 0, description: 'FTRL L1 strength' }),
    l2: Type.Number({ default: DEFAULT_FTRL.l2, minimum: 0, description: 'FTRL L2 strength' }),
    bits: Type.Integer({
      default: DEFAULT_FTRL.bits,
      minimum: 10,
      maximum: 26,
      description: 'Hashed feature space: 2^bits coordinates',
    }),
    attributionWindowMs: Type.Integer({
      default: 60_000,
      minimum: 100,
      description: 'How long an impression waits for a valid click before it counts as not clicked (ms)',
    }),
    holdOutPct: Type.Integer({
      default: 10,
      minimum: 0,
      maximum: 50,
      description: 'Percent of impressions never trained on, to measure the model (AUC, calibration)',
    }),
    evalWindow: Type.Integer({
      default: 20_000,
      minimum: 100,
      description: 'Held-out impressions per evaluation window (the recent figures cover the last 1-2)',
    }),
    snapshotEveryMs: Type.Integer({
      default: 2_000,
      minimum: 100,
      description: 'How often a new model is written and pointed to in ZooKeeper when it changed (ms)',
    }),
    checkpointEveryMs: Type.Integer({
      default: 10_000,
      minimum: 100,
      description: 'How often the whole state and its Kafka positions are checkpointed (ms)',
    }),
    keepModels: Type.Integer({ default: 5, minimum: 2, description: 'Model files kept in the state folder' }),
    idleLagMs: Type.Integer({
      default: 5_000,
      minimum: 0,
      description:
        'When every partition is read to its end, event time is taken as at least now minus this (ms): impressions still age into negatives without new traffic',
    }),
  },
  { additionalProperties: false },
);
export type LearnerConfig = Static<typeof LearnerConfig>;

export function stateDirOf(config: { dataDir: string; stateDir?: string | undefined }): string {
  return config.stateDir ?? `${config.dataDir.replace(/\/$/, '')}/learner`;
}
