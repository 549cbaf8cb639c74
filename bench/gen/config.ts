// Settings of `imatch gen`, as a TypeBox schema for core/config.ts's loadConfig (flags and
// IMATCH_* variables, validated together, every bad key reported at once, then frozen).
import { type Static, Type } from '@sinclair/typebox';
import { CommonSettings } from '../../core/config.js';
import type { ProgressMode } from './progress.js';

const PROGRESS_MODES: ProgressMode[] = ['auto', 'bar', 'log', 'none'];

export const GenConfig = Type.Object(
  {
    logLevel: CommonSettings.logLevel,
    out: Type.String({ minLength: 1, description: 'Folder to write the data set into (created if missing)' }),
    offers: Type.Integer({
      minimum: 1,
      maximum: 50_000_000,
      default: 10_000,
      description: 'Number of offers in the snapshot',
    }),
    seed: Type.String({
      minLength: 1,
      maxLength: 200,
      default: '1',
      description: 'Seed text: the same seed (and flags) gives byte-identical files',
    }),
    customers: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description: 'Number of customers (default: offers / 50, at least 1)',
      }),
    ),
    queries: Type.Integer({
      minimum: 0,
      maximum: 100_000_000,
      default: 100_000,
      description: 'Lines in the query log (queries.jsonl)',
    }),
    changes: Type.Integer({
      minimum: 0,
      maximum: 100_000_000,
      default: 100_000,
      description: 'Lines in the change stream (changes.jsonl)',
    }),
    takenAt: Type.Optional(
      Type.String({
        pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,3})?Z$',
        description: 'snapshot.json takenAt, ISO UTC (default: a time derived from the seed)',
      }),
    ),
    // An enum (not a union of literals) so a bad value gets one clear message listing the choices.
    progress: Type.Unsafe<ProgressMode>({
      type: 'string',
      enum: PROGRESS_MODES,
      default: 'auto',
      description: 'Progress display: bar on a terminal, log lines otherwise (auto), or none',
    }),
  },
  { additionalProperties: false },
);
export type GenConfig = Static<typeof GenConfig>;
