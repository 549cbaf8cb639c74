// Settings of the click filter (`imatch click-filter`): the shared ZooKeeper, Kafka and HTTP
// settings, the click-token keyring, the defaults of the run-time thresholds and block lists
// (ZooKeeper's config/click-filter overrides them while running: settings.ts), and how decisions
// are written to Kafka. Read once by bin/commands/click-filter.ts, then frozen.
import { type Static, Type } from '@sinclair/typebox';
import { CommonSettings, HttpSettings, KafkaSettings, ZkSettings } from '../core/config.js';
import { IdSetting, ServiceSettings } from '../core/service-runtime.js';
import { TestClockSettings } from '../core/test-clock-route.js';

const ms = (dflt: number, description: string, minimum = 0) =>
  Type.Integer({ default: dflt, minimum, description });

export const ClickFilterConfig = Type.Object(
  {
    ...CommonSettings,
    ...ZkSettings,
    ...KafkaSettings,
    ...HttpSettings,
    port: Type.Integer({
      default: 8080,
      minimum: 0,
      maximum: 65535,
      description: 'Port to listen on (0 = any free port)',
    }),
    // id: this instance's id in decisions and in ZooKeeper (default: <hostname>-<pid>).
    ...ServiceSettings,
    ...IdSetting,
    clickKeys: Type.Array(Type.String({ minLength: 3 }), {
      minItems: 1,
      description:
        'Click-token keys "kid:KEY" (KEY = 32 bytes as hex or base64), comma-separated; same as the blender\'s',
    }),
    clickKeyId: Type.Optional(
      Type.String({ minLength: 1, description: 'Current key id (needed with several keys)' }),
    ),
    trustProxy: Type.Boolean({
      default: false,
      description: 'Take the client address from X-Forwarded-For (only behind a proxy you run)',
    }),
    tokenMaxAgeMs: ms(3_600_000, 'A token older than this is not billable (reason expired)', 1),
    dedupWindowMs: ms(600_000, 'The same click within this window is a duplicate (0 = off)'),
    dedupMaxEntries: Type.Integer({
      default: 500_000,
      minimum: 1,
      description: 'Clicks remembered for duplicates at most',
    }),
    userRateMax: Type.Integer({
      default: 10,
      minimum: 0,
      description: 'Clicks per user per window (0 = off)',
    }),
    userRateWindowMs: ms(60_000, 'Window of the per-user limit', 1),
    ipRateMax: Type.Integer({
      default: 30,
      minimum: 0,
      description: 'Clicks per client address per window (0 = off)',
    }),
    ipRateWindowMs: ms(60_000, 'Window of the per-address limit', 1),
    rateMaxKeys: Type.Integer({
      default: 200_000,
      minimum: 1,
      description: 'Users and addresses tracked at most (each)',
    }),
    minDelayAfterPvMs: ms(1_000, 'A click sooner than this after its page view is not billable (0 = off)'),
    blockedCidrs: Type.Array(Type.String(), {
      default: [],
      description: 'Blocked address ranges (CIDR), until ZooKeeper config/click-filter says otherwise',
    }),
    blockedUserAgents: Type.Array(Type.String(), {
      default: [],
      description:
        'Blocked user-agent regular expressions, until ZooKeeper config/click-filter says otherwise',
    }),
    logMode: Type.Union([Type.Literal('await'), Type.Literal('async')], {
      default: 'await',
      description:
        'await: redirect once the decision (and settlement) is acknowledged by Kafka (acks=all); async: redirect at once, write behind',
    }),
    kafkaWaitMs: ms(2_000, 'Longest a redirect waits for Kafka in await mode; then it redirects anyway', 1),
    kafkaProducers: Type.Integer({
      default: 2,
      minimum: 1,
      maximum: 8,
      description: 'Idempotent producers writing decisions, each with one request in flight',
    }),
    maxLogBatch: Type.Integer({
      default: 2_000,
      minimum: 1,
      description: 'Decisions per Kafka produce request at most',
    }),
    logLingerMs: Type.Number({
      default: 0,
      minimum: 0,
      maximum: 100,
      description: 'How long a free producer waits for more decisions before sending a smaller batch (ms)',
    }),
    maxPendingDecisions: Type.Integer({
      default: 100_000,
      minimum: 1,
      description: 'Decisions waiting for Kafka at most; beyond, new ones are dropped (counted and logged)',
    }),
    maxDecisionRetryMs: ms(
      300_000,
      'A decision Kafka has not taken after this long is dropped (logged in full)',
      1,
    ),
    clickTopicPartitions: Type.Integer({
      default: 1,
      minimum: 1,
      maximum: 1024,
      description: 'Partitions of the clicks and settlement topics when this service creates them',
    }),
    ...TestClockSettings,
  },
  { additionalProperties: false },
);
export type ClickFilterConfig = Static<typeof ClickFilterConfig>;
