// Experiments: traffic split into arms by a stable hash of the user, configured in ZooKeeper at
// `<root>/config/experiment` as `{"arms": {"quality": 50, "ctr": 50}}` (arm -> share in percent,
// whole numbers summing to 100) and changed at run time. An arm's name is the ranking it serves:
//   quality  bid x the advertiser platform's quality x match weight (core/ranking.ts)
//   ctr      bid x the learned, position-normalized click-through rate (learner/)
// A user's bucket is a 32-bit hash of "arm:" + user key, mod 100, so the same user stays in the same arm
// while the shares stay; the user key is the request's user id, else its client digest (ip and user
// agent), so anonymous traffic splits too. With no experiment configured every request is `quality`.
// Pure functions; the blender holds the current config (one frozen object, replaced on update).
import { fnv1a32 } from './partition.js';

export const ARMS = ['quality', 'ctr'] as const;
export type Arm = (typeof ARMS)[number];

export interface ExperimentConfig {
  /** Arm -> share of users in percent; only arms with a share > 0 are kept. */
  arms: Partial<Record<Arm, number>>;
}

export const DEFAULT_EXPERIMENT: Readonly<ExperimentConfig> = Object.freeze({ arms: { quality: 100 } });

/** Why `doc` is not a valid experiment config, or undefined when it is. */
export function experimentProblem(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    return 'the experiment config must be a JSON object {"arms": {"<arm>": <percent>, ...}}';
  const extra = Object.keys(doc).filter((k) => k !== 'arms');
  if (extra.length > 0) return `unknown experiment keys: ${extra.join(', ')} (only "arms")`;
  const arms = (doc as { arms?: unknown }).arms;
  if (typeof arms !== 'object' || arms === null || Array.isArray(arms))
    return '"arms" must be an object of arm name -> share in percent';
  let total = 0;
  for (const [name, share] of Object.entries(arms)) {
    if (!(ARMS as readonly string[]).includes(name))
      return `unknown arm "${name}" (arms are ${ARMS.join(', ')})`;
    if (!Number.isInteger(share) || (share as number) < 0 || (share as number) > 100)
      return `the share of arm "${name}" must be a whole percent 0-100, got ${JSON.stringify(share)}`;
    total += share as number;
  }
  if (total !== 100) return `arm shares must add up to 100, they add up to ${total}`;
  return undefined;
}

/** Parses and checks a config document (throws TypeError naming the problem). */
export function parseExperiment(doc: unknown): ExperimentConfig {
  const problem = experimentProblem(doc);
  if (problem !== undefined) throw new TypeError(problem);
  const arms: Partial<Record<Arm, number>> = {};
  for (const arm of ARMS) {
    const share = (doc as ExperimentConfig).arms[arm];
    if (share !== undefined && share > 0) arms[arm] = share;
  }
  return Object.freeze({ arms: Object.freeze(arms) });
}

/** "quality=50,ctr=50" -> a checked config (command lines). */
export function parseArmsFlag(text: string): ExperimentConfig {
  const arms: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([a-z]+)\s*=\s*(\d{1,3})\s*$/.exec(part);
    if (m === null) throw new TypeError(`--arms: "${part}" is not <arm>=<percent> (e.g. quality=50,ctr=50)`);
    if (m[1]! in arms) throw new TypeError(`--arms: arm "${m[1]}" given twice`);
    arms[m[1]!] = Number(m[2]);
  }
  return parseExperiment({ arms });
}

/** The user's bucket, 0-99 (FNV-1a, then murmur3's finalizer so near-equal keys spread). */
export function bucketOf(userKey: string): number {
  let h = fnv1a32(`arm:${userKey}`);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) % 100;
}

/** The arm of a user: buckets are given out to the arms in ARMS order by their shares. */
export function armOf(config: ExperimentConfig, userKey: string): Arm {
  const bucket = bucketOf(userKey);
  let upTo = 0;
  for (const arm of ARMS) {
    upTo += config.arms[arm] ?? 0;
    if (bucket < upTo) return arm;
  }
  return 'quality';
}
