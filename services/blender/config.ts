// The blender's settings: one TypeBox schema (flags, IMATCH_* variables, defaults), read once at
// the program edge by bin/commands/blender.ts with core/config.ts loadConfig, then frozen and
// passed down. No I/O and no state here. The reserve price and price step given here are the
// start-up values; `<root>/config/pricing` in ZooKeeper overrides them at run time.
import { type Static, Type } from '@sinclair/typebox';
import { CommonSettings, HttpSettings, KafkaSettings, ZkSettings } from '../../core/config.js';
import { DEFAULT_STEP_MICROS } from '../../core/money.js';
import { IdSetting, ServiceSettings } from '../../core/service-runtime.js';

/** Most ads one request may ask for (DESIGN.md: n=1..20). */
export const MAX_ADS = 20;
export const DEFAULT_ADS = 5;

export const BlenderConfig = Type.Object(
  {
    ...CommonSettings,
    ...ZkSettings,
    ...KafkaSettings,
    ...HttpSettings,
    mergerUrl: Type.Optional(
      Type.Array(Type.String({ pattern: '^(https?://[^\\s/]+/?|frames://[^\\s:/]+:\\d{1,5})$' }), {
        minItems: 1,
        description:
          'Merger base URL(s) (http://host:port) or frame RPC addresses (frames://host:port), comma-separated (default: discover them in ZooKeeper <root>/services/merger)',
      }),
    ),
    mergerFrames: Type.Boolean({
      default: true,
      description:
        'Call discovered mergers over frame RPC (core/frame-rpc.ts) when their registration has a frame address; false = HTTP POST /merge',
    }),
    clickBaseUrl: Type.String({
      pattern: '^https?://[^\\s]+[^/\\s]$',
      default: 'http://127.0.0.1:8080',
      description: 'Base URL of the click filter; click URLs are <click-base-url>/c/<token>',
    }),
    clickKeys: Type.Array(Type.String({ minLength: 3 }), {
      minItems: 1,
      description: 'Click-token keys "kid:KEY" (KEY = 32 bytes as hex or base64), comma-separated',
    }),
    clickKeyId: Type.Optional(
      Type.String({ minLength: 1, description: 'Key id new click tokens use (needed with several keys)' }),
    ),
    reserveMicros: Type.Integer({
      minimum: 0,
      default: DEFAULT_STEP_MICROS,
      description: 'Reserve price per click (micros) until ZooKeeper config/pricing says otherwise',
    }),
    stepMicros: Type.Integer({
      minimum: 1,
      default: DEFAULT_STEP_MICROS,
      description: 'Price step (micros) until ZooKeeper config/pricing says otherwise',
    }),
    ctrCandidates: Type.Integer({
      minimum: 2,
      maximum: 200,
      default: 20,
      description:
        'In the ctr experiment arm: candidates asked of the merger (by static score) and re-ranked by bid x learned pCTR (at least n+1)',
    }),
    ctrPrior: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.02,
      description: 'In the ctr arm, before any click model is loaded: the pCTR of an ad of average quality',
    }),
    mergerTimeoutMs: Type.Integer({
      minimum: 1,
      default: 200,
      description: 'Deadline of one call to a merger (ms); past it the request answers 504',
    }),
    mergerConnections: Type.Integer({
      minimum: 1,
      maximum: 1024,
      default: 32,
      description: 'Keep-alive connections per merger',
    }),
    textExpansion: Type.Boolean({
      default: true,
      description: 'Ask searchers for title-text expansion when bidwords give too few ads',
    }),
    maxInFlight: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 64,
      description:
        'Most ad requests answered at once; one more is refused at once with 503 and Retry-After (admission control; the limit in force adapts between 8 and this)',
    }),
    admissionTargetMs: Type.Integer({
      minimum: 1,
      default: 20,
      description:
        'Admission control: in a period that reached the in-flight limit, admitted ad requests this slow on average (ms) shrink the limit; faster ones grow it back',
    }),
    pvFlushMs: Type.Integer({
      minimum: 1,
      default: 100,
      description:
        'Longest time a page-view record waits in memory before it is sent to Kafka (ms): a produce request costs the broker about 2 ms of CPU whatever its size, so larger batches cost it less; a crash loses about this much of page views',
    }),
    pvBatchSize: Type.Integer({
      minimum: 1,
      default: 500,
      description: 'Most page-view records in one Kafka send',
    }),
    pvBufferMax: Type.Integer({
      minimum: 1,
      default: 20_000,
      description: 'Most page-view records waiting in memory; beyond it new records are dropped and counted',
    }),
    ...ServiceSettings,
    ...IdSetting,
  },
  { additionalProperties: false },
);
export type BlenderConfig = Static<typeof BlenderConfig>;
