// Settings of the billing service (`imatch billing`) and of the spend report: the shared
// ZooKeeper, Kafka and HTTP settings plus the ledger, the billing time zone, how to reach
// dispatch, and where customer entities come from at first start. Read once, then frozen.
import { type Static, Type } from '@sinclair/typebox';
import { CommonSettings, HttpSettings, KafkaSettings, ZkSettings } from '../core/config.js';
import { ServiceSettings } from '../core/service-runtime.js';
import { TestClockSettings } from '../core/test-clock-route.js';

export const BillingConfig = Type.Object(
  {
    ...CommonSettings,
    ...ZkSettings,
    ...KafkaSettings,
    ...HttpSettings,
    port: Type.Integer({
      default: 8090,
      minimum: 0,
      maximum: 65535,
      description: 'Port to listen on (0 = any free port)',
    }),
    ...ServiceSettings,
    ledgerDir: Type.Optional(
      Type.String({ minLength: 1, description: 'Ledger folder (default: <data-dir>/billing/ledger)' }),
    ),
    timeZone: Type.String({
      default: 'UTC',
      description: 'IANA time zone of billing days (daily budgets reset at its midnight)',
    }),
    groupId: Type.String({
      default: 'imatch-billing',
      description:
        "Kafka consumer group prefix; the ledger's own id is appended (a new ledger reads from the start)",
    }),
    maxBatch: Type.Integer({
      default: 500,
      minimum: 1,
      maximum: 10_000,
      description: 'Records applied per ledger transaction at most',
    }),
    dispatchUrl: Type.Optional(
      Type.String({
        pattern: '^https?://[^\\s/]+$',
        description: 'Dispatch base URL for offline/online changes (default: the leader found in ZooKeeper)',
      }),
    ),
    dispatchSecret: Type.Optional(
      Type.String({
        minLength: 16,
        description: 'Bearer secret dispatch expects (without it no change is sent, only logged)',
      }),
    ),
    dispatchTimeoutMs: Type.Integer({
      default: 5_000,
      minimum: 100,
      description: 'Timeout of one POST /v1/changes (ms)',
    }),
    snapshotDir: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'BP snapshot folder whose customers.jsonl seeds the customer entities',
      }),
    ),
    budgetTickMs: Type.Integer({
      default: 1_000,
      minimum: 50,
      description: 'How often held customers are re-checked (ms)',
    }),
    ...TestClockSettings,
  },
  { additionalProperties: false },
);
export type BillingConfig = Static<typeof BillingConfig>;

export function ledgerDirOf(config: { dataDir: string; ledgerDir?: string | undefined }): string {
  return config.ledgerDir ?? `${config.dataDir.replace(/\/$/, '')}/billing/ledger`;
}
