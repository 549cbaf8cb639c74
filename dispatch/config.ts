// Settings of the dispatch service (`imatch dispatch`): the shared ZooKeeper, Kafka and HTTP
// settings plus what only dispatch needs. Read once by bin/commands/dispatch.ts with
// core/config.ts loadConfig (flags > IMATCH_* variables > defaults), then frozen.
import { type Static, Type } from '@sinclair/typebox';
import { CommonSettings, HttpSettings, KafkaSettings, ZkSettings } from '../core/config.js';
import { IdSetting, ServiceSettings } from '../core/service-runtime.js';

export const DispatchConfig = Type.Object(
  {
    ...CommonSettings,
    ...ZkSettings,
    ...KafkaSettings,
    ...HttpSettings,
    secret: Type.String({
      minLength: 16,
      description: 'Shared secret the BP sends as "Authorization: Bearer <secret>" (at least 16 characters)',
    }),
    ...ServiceSettings,
    ...IdSetting,
    idBlockSize: Type.Integer({
      default: 10_000,
      minimum: 1,
      maximum: 100_000_000,
      description: 'Message ids reserved in ZooKeeper per block',
    }),
    changesPartitions: Type.Integer({
      default: 1,
      minimum: 1,
      maximum: 1024,
      description: 'Partitions of the changes topic when dispatch creates it (1 keeps a total id order)',
    }),
    changesReplication: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 16,
        description:
          'Replication factor of the changes topic when dispatch creates it (default: min(3, brokers in the cluster))',
      }),
    ),
    maxPendingChanges: Type.Integer({
      default: 50_000,
      minimum: 1,
      description: 'Changes waiting for Kafka before new batches are refused with 503 (back pressure)',
    }),
    maxWriteBatch: Type.Integer({
      default: 5_000,
      minimum: 1,
      maximum: 100_000,
      description: 'Most change messages written to Kafka in one produce request',
    }),
    kafkaTimeoutMs: Type.Integer({
      default: 10_000,
      minimum: 100,
      description: 'How long one write to Kafka may take before the batch is answered 503 (ms)',
    }),
  },
  { additionalProperties: false },
);
export type DispatchConfig = Static<typeof DispatchConfig>;
