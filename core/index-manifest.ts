// The contract between the index builder and the searchers: the layout of an index version on
// disk and its manifest.json. The builder writes it (index-builder/), searchers read and verify
// it (services/searcher/index/). Details and the segment line format: docs/index-format.md.
//
//   <out>/<version>/manifest.json     this file's IndexManifest
//   <out>/<version>/col-<c>.seg       one segment per column (JSON lines, see docs)
//   <out>/.tmp-<version>-<pid>/       a build in progress; never read by searchers
//
// A version folder appears only by an atomic rename once every file in it is complete and
// fsynced, so a folder named like a version id that holds manifest.json is complete.
// Helpers here are async and stateless; safe to call from any service.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Static, Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { ImatchError } from './errors.js';
import type { Customer, MatchType, Offer } from './model.js';
import { PARTITION_FUNCTION } from './partition.js';

export const INDEX_FORMAT = 'imatch-index' as const;
export const INDEX_FORMAT_VERSION = 1 as const;
export const MANIFEST_FILE = 'manifest.json';
export const TMP_PREFIX = '.tmp-';

/** Version ids sort by build time: `YYYYMMDDTHHMMSSmmmZ-<6 hex>`, e.g. 20250301T020000123Z-3fa9c1. */
export const VERSION_PATTERN = '^[0-9]{8}T[0-9]{9}Z-[0-9a-f]{6}$';
const VERSION_RE = new RegExp(VERSION_PATTERN);

const Count = Type.Integer({ minimum: 0 });

export const SegmentEntry = Type.Object(
  {
    column: Type.Integer({ minimum: 0 }),
    /** File name inside the version folder, e.g. "col-0.seg". */
    file: Type.String({ pattern: '^col-[0-9]+\\.seg$' }),
    bytes: Count,
    /** Lower-case hex SHA-256 of the whole file. */
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    /** Customers in the segment (every segment holds every customer). */
    customers: Count,
    /** Offers of this column (online and offline). */
    offers: Count,
    onlineOffers: Count,
    /** Positive bidwords attached to offers of this column. */
    bidwords: Count,
    /** Negative keywords attached to offers of this column. */
    negatives: Count,
    /** Bidwords whose offer is not in the snapshot, kept aside in case the offer arrives. */
    pendingBidwords: Count,
  },
  { additionalProperties: false },
);
export type SegmentEntry = Static<typeof SegmentEntry>;

export const IndexManifest = Type.Object(
  {
    format: Type.Literal(INDEX_FORMAT),
    formatVersion: Type.Literal(INDEX_FORMAT_VERSION),
    version: Type.String({ pattern: VERSION_PATTERN }),
    createdAt: Type.String({ format: 'date-time' }),
    columns: Type.Integer({ minimum: 1, maximum: 4096 }),
    /** core/partition.ts function that assigned offers to columns. */
    partition: Type.Literal(PARTITION_FUNCTION),
    /** Last change-message id this version already contains (the snapshot's watermark). */
    watermark: Type.Integer({ minimum: 0 }),
    snapshot: Type.Object(
      {
        takenAt: Type.String({ format: 'date-time' }),
        watermark: Type.Integer({ minimum: 0 }),
        /** Folder the snapshot was read from (informational). */
        dir: Type.String(),
      },
      { additionalProperties: false },
    ),
    counts: Type.Object(
      {
        customers: Count,
        offers: Count,
        bidwords: Count,
        negatives: Count,
        pendingBidwords: Count,
        /** Rows read but left out of the index, by reason (e.g. "offline bidword"). */
        dropped: Type.Record(Type.String(), Count),
        /** Bad rows skipped with --skip-bad, by reason. */
        skipped: Type.Record(Type.String(), Count),
      },
      { additionalProperties: false },
    ),
    segments: Type.Array(SegmentEntry),
    build: Type.Object(
      {
        tool: Type.String(),
        durationMs: Count,
        /** Temp buckets the join used (memory bound: one bucket at a time). */
        buckets: Type.Optional(Count),
        /** Offers naming a customer absent from the snapshot (kept, not served until it arrives). */
        offersWithoutCustomer: Type.Optional(Count),
      },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: false, $id: 'IndexManifest' },
);
export type IndexManifest = Static<typeof IndexManifest>;

const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv);
const validateManifest = ajv.compile<IndexManifest>(IndexManifest);

/** A new sortable version id for a build started at `now`. */
export function newVersionId(now: Date = new Date(), random: () => number = Math.random): string {
  const iso = now.toISOString(); // 2025-03-01T02:00:00.123Z
  const stamp = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}T${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}${iso.slice(20, 23)}Z`;
  const suffix = Math.floor(random() * 0x1000000)
    .toString(16)
    .padStart(6, '0');
  return `${stamp}-${suffix}`;
}

export function isVersionId(name: string): boolean {
  return VERSION_RE.test(name);
}

export function segmentFileName(column: number): string {
  return `col-${column}.seg`;
}

/** Problems with a parsed manifest (schema, and cross-field checks), empty when fine. */
export function manifestProblems(value: unknown): string[] {
  if (!validateManifest(value)) {
    return (validateManifest.errors ?? []).map(
      (e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`,
    );
  }
  const m = value;
  const problems: string[] = [];
  if (m.segments.length !== m.columns)
    problems.push(`${m.columns} columns but ${m.segments.length} segments`);
  m.segments.forEach((s, i) => {
    if (s.column !== i) problems.push(`segments[${i}] is for column ${s.column}`);
    if (s.file !== segmentFileName(s.column)) problems.push(`segments[${i}] file ${s.file} is misnamed`);
  });
  return problems;
}

/**
 * Reads and validates `<versionDir>/manifest.json`.
 * Throws IM_ERR_INDEX_MISSING when the folder or manifest is absent, IM_ERR_INDEX_CORRUPT when the
 * manifest is not valid JSON or does not match the schema.
 */
export async function readManifest(versionDir: string): Promise<IndexManifest> {
  const path = join(versionDir, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ImatchError('IM_ERR_INDEX_MISSING', `Index manifest not found: ${path}`, { cause: err });
    }
    throw err;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ImatchError('IM_ERR_INDEX_CORRUPT', `Index manifest ${path} is not valid JSON`, { cause: err });
  }
  const problems = manifestProblems(value);
  if (problems.length > 0) {
    throw new ImatchError(
      'IM_ERR_INDEX_CORRUPT',
      `Index manifest ${path} is invalid: ${problems.join('; ')}`,
      {
        details: problems,
      },
    );
  }
  return value as IndexManifest;
}

/** The manifest entry of `column`; IM_ERR_INDEX_MISSING when the version has no such column. */
export function segmentEntry(manifest: IndexManifest, column: number): SegmentEntry {
  const entry = manifest.segments[column];
  if (!Number.isInteger(column) || column < 0 || entry === undefined) {
    throw new ImatchError(
      'IM_ERR_INDEX_MISSING',
      `Index version ${manifest.version} has columns 0..${manifest.columns - 1}, not column ${column}`,
    );
  }
  return entry;
}

/**
 * Checks a segment file's size and SHA-256 against its manifest entry by reading it once.
 * (The searcher's loader verifies while it parses instead, to read the file only once.)
 */
export async function verifySegmentFile(versionDir: string, entry: SegmentEntry): Promise<void> {
  const path = join(versionDir, entry.file);
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch (err) {
    throw new ImatchError('IM_ERR_INDEX_MISSING', `Index segment not found: ${path}`, { cause: err });
  }
  if (size !== entry.bytes) {
    throw new ImatchError(
      'IM_ERR_INDEX_CORRUPT',
      `Index segment ${path} has ${size} bytes, the manifest says ${entry.bytes} (truncated or replaced)`,
    );
  }
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const actual = hash.digest('hex');
  if (actual !== entry.sha256) {
    throw new ImatchError(
      'IM_ERR_INDEX_CORRUPT',
      `Index segment ${path} has SHA-256 ${actual}, the manifest says ${entry.sha256}`,
    );
  }
}

/**
 * Complete versions under an index store folder, oldest first (version ids sort by time).
 * Ignores builds in progress (.tmp-*) and anything else that is not a version folder with a manifest.
 */
export async function listVersions(outDir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(outDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const versions: string[] = [];
  for (const name of names.filter(isVersionId).sort()) {
    try {
      await stat(join(outDir, name, MANIFEST_FILE));
      versions.push(name);
    } catch {
      // not a complete version: skip
    }
  }
  return versions;
}

export const SEGMENT_FORMAT = 'imatch-segment' as const;
export const SEGMENT_FORMAT_VERSION = 1;

/** Segment line shapes (docs/index-format.md): index-builder/segment-writer.ts writes them,
 * services/searcher/index/load-segment.ts reads them. */
export interface HeaderLine {
  t: 'h';
  format: typeof SEGMENT_FORMAT;
  formatVersion: number;
  version: string;
  column: number;
  columns: number;
  watermark: number;
}
export interface CustomerLine {
  t: 'c';
  d: Customer;
}
/**
 * A held bidword in a segment, compact: [id, keyword, matchType, bidMicros (0 for a negative
 * keyword), normalize(keyword) when it differs from keyword]. Its offer id is the enclosing
 * offer's (or the pending line's `o`), and its status is "online" (offline ones are not stored).
 */
export type SegmentBidword =
  | [string, string, MatchType, number]
  | [string, string, MatchType, number, string];
export interface OfferLine {
  t: 'o';
  d: Offer;
  /** normalize(d.title) */
  n: string;
  /** The offer's bidwords, positive and negative. */
  b: SegmentBidword[];
}
export interface PendingLine {
  t: 'p';
  /** Offer id the bidword names (absent from the snapshot). */
  o: string;
  b: SegmentBidword;
}
export interface FooterLine {
  t: 'e';
  customers: number;
  offers: number;
  bidwords: number;
  negatives: number;
  pendingBidwords: number;
}
export type SegmentLine = HeaderLine | CustomerLine | OfferLine | PendingLine | FooterLine;
