// The merger's settings: one TypeBox schema (flags, IMATCH_* variables, defaults), read once at
// the program edge by bin/commands/merger.ts with core/config.ts loadConfig, then frozen and
// passed down. No I/O and no state here.
import { type Static, Type } from '@sinclair/typebox';
import { CommonSettings, FramesSettings, HttpSettings, ZkSettings } from '../../core/config.js';
import { IdSetting, ServiceSettings } from '../../core/service-runtime.js';

export const MergerConfig = Type.Object(
  {
    ...CommonSettings,
    ...ZkSettings,
    ...HttpSettings,
    ...FramesSettings,
    ...ServiceSettings,
    ...IdSetting,
    deadlineMs: Type.Integer({
      default: 100,
      minimum: 1,
      maximum: 60_000,
      description: 'Per-query deadline for the whole fan-out, retries included (ms)',
    }),
    attemptTimeoutMs: Type.Integer({
      default: 50,
      minimum: 1,
      maximum: 60_000,
      description:
        'Shortest timeout of one searcher attempt before it is retried on another replica (ms); it grows to 4x the column p99 when the column is slow, and a lone healthy replica gets the whole deadline',
    }),
    abandonAfterMs: Type.Integer({
      default: 1_000,
      minimum: 1,
      maximum: 600_000,
      description:
        'A searcher request still unanswered this long is aborted and its connection closed; before that a late answer is read and dropped, keeping the connection (ms)',
    }),
    maxInFlight: Type.Integer({
      default: 256,
      minimum: 1,
      maximum: 100_000,
      description: 'Merges answered at once; one more is refused at once with 503 and Retry-After',
    }),
    minRetryMs: Type.Integer({
      default: 5,
      minimum: 0,
      description: 'A retry starts only if at least this much of the deadline is left (ms)',
    }),
    perCustomerMax: Type.Integer({
      default: 2,
      minimum: 1,
      maximum: 100,
      description: 'CDistinct: at most this many ads per customer in one answer',
    }),
    backoffMs: Type.Integer({
      default: 500,
      minimum: 1,
      description: 'A failed replica gets no traffic for this long; doubles per consecutive failure (ms)',
    }),
    maxBackoffMs: Type.Integer({
      default: 5_000,
      minimum: 1,
      description: 'Cap of the replica backoff (ms)',
    }),
    ejectAfterTimeouts: Type.Integer({
      default: 3,
      minimum: 1,
      maximum: 1000,
      description:
        'Timeouts in a row (no success between) that make a replica unhealthy; errors eject at once',
    }),
    searcherFrames: Type.Boolean({
      default: true,
      description:
        'Call searchers over frame RPC (core/frame-rpc.ts) when their registration has a frame address; false = HTTP POST /search',
    }),
    connectionsPerReplica: Type.Integer({
      default: 16,
      minimum: 1,
      maximum: 1024,
      description: 'Keep-alive connections to each searcher replica over HTTP',
    }),
    keepAliveTimeoutMs: Type.Integer({
      default: 30_000,
      minimum: 100,
      description: 'Idle time after which a searcher connection is closed (ms)',
    }),
  },
  { additionalProperties: false },
);
export type MergerConfig = Static<typeof MergerConfig>;
