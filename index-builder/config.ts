// Settings of `imatch build-index` (core/config.ts: flags > IMATCH_* variables > defaults).
import { Type } from '@sinclair/typebox';
import { CommonSettings, ZkSettings } from '../core/config.js';

export const BuildIndexConfig = Type.Object({
  ...CommonSettings,
  ...ZkSettings,
  snapshot: Type.String({
    minLength: 1,
    description: 'BP snapshot folder (snapshot.json + customers/offers/bidwords.jsonl)',
  }),
  columns: Type.Integer({
    minimum: 1,
    maximum: 4096,
    description: 'Number of columns to partition offers into',
  }),
  out: Type.Optional(
    Type.String({
      minLength: 1,
      description: 'Index store folder (default: <data-dir>/index); the version goes into <out>/<version>',
    }),
  ),
  publish: Type.Boolean({
    default: false,
    description: 'Make the new version current in ZooKeeper (<zk-root>/index/current) and prune old versions',
  }),
  skipBad: Type.Boolean({
    default: false,
    description: 'Skip bad rows and count them by reason instead of stopping at the first',
  }),
  keep: Type.Integer({
    default: 3,
    minimum: 1,
    description: 'Versions to keep in the store when publishing (the current one is never pruned)',
  }),
  workers: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 16,
      description:
        'Worker threads validating rows (default: one per CPU up to 4; 0 = validate on the main thread)',
    }),
  ),
  progress: Type.Union(
    [Type.Literal('auto'), Type.Literal('bar'), Type.Literal('log'), Type.Literal('off')],
    {
      default: 'auto',
      description:
        'Progress display: bar (terminal), log (periodic log lines), auto (bar on a terminal), off',
    },
  ),
});
