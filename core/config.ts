// Configuration loading for every service and CLI command: a TypeBox schema per service (with
// defaults and descriptions), read once from flags and IMATCH_* environment variables, validated
// with every bad key reported at once, then frozen. Nothing else in the code base reads
// process.env.
//
// Naming: schema key `zkConnect` <-> flag `--zk-connect` <-> variable `IMATCH_ZK_CONNECT`.
// Precedence: flag > variable > schema default. Array settings take comma-separated text.
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { Ajv, type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import { type Command, Option } from 'commander';
import { ImatchError } from './errors.js';

export const ENV_PREFIX = 'IMATCH_';

export function flagName(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

export function envName(key: string): string {
  return ENV_PREFIX + key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();
}

export interface ConfigSources {
  /** Parsed flags keyed by schema key (camelCase), as commander gives them. */
  flags?: Record<string, unknown>;
  /** Environment; default: none (pass process.env explicitly at the program's edge). */
  env?: Record<string, string | undefined>;
}

export interface ConfigProblem {
  key: string;
  flag: string;
  env: string;
  problem: string;
}

const ajv = new Ajv({ allErrors: true, coerceTypes: 'array', useDefaults: true, strict: false });
(addFormats as unknown as (a: Ajv) => void)(ajv);

/** Validates, fills defaults, freezes. Throws one IM_ERR_CONFIG naming every bad key. */
export function loadConfig<T extends TObject>(schema: T, sources: ConfigSources): Readonly<Static<T>> {
  const props = schema.properties as Record<string, TSchema>;
  const raw: Record<string, unknown> = {};
  const problems: ConfigProblem[] = [];
  const env = sources.env ?? {};
  for (const key of Object.keys(props)) {
    const fromEnv = env[envName(key)];
    if (fromEnv !== undefined && fromEnv !== '') raw[key] = splitIfArray(props[key]!, fromEnv);
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    if (!(key in props)) {
      problems.push(
        problemFor(key, `unknown setting; allowed: ${Object.keys(props).map(flagName).join(', ')}`),
      );
      continue;
    }
    raw[key] = typeof value === 'string' ? splitIfArray(props[key]!, value) : value;
  }
  const validate = ajv.compile(schema);
  if (!validate(raw)) problems.push(...(validate.errors ?? []).map((e) => describe(e, raw)));
  if (problems.length > 0) {
    const lines = problems.map((p) => `  ${p.flag} (${p.env}): ${p.problem}`);
    throw new ImatchError(
      'IM_ERR_CONFIG',
      `Invalid configuration, ${problems.length} problem(s):\n${lines.join('\n')}`,
      {
        details: problems,
      },
    );
  }
  return deepFreeze(raw) as Readonly<Static<T>>;
}

function splitIfArray(schema: TSchema, text: string): unknown {
  if ((schema as { type?: unknown }).type === 'array') {
    return text
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  }
  return text;
}

function problemFor(key: string, problem: string): ConfigProblem {
  return { key, flag: `--${flagName(key)}`, env: envName(key), problem };
}

function describe(e: ErrorObject, raw: Record<string, unknown>): ConfigProblem {
  const path = e.instancePath.split('/').filter(Boolean);
  let key = path[0] ?? '';
  if (e.keyword === 'required') key = String((e.params as { missingProperty: string }).missingProperty);
  if (e.keyword === 'additionalProperties')
    key = String((e.params as { additionalProperty: string }).additionalProperty);
  const got = key in raw ? ` (got ${JSON.stringify(raw[key])})` : '';
  let message = e.message ?? 'is invalid';
  if (e.keyword === 'enum')
    message += `: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  if (e.keyword === 'required') message = 'is required';
  return problemFor(key, `${message}${got}`);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  }
  return value;
}

/**
 * Adds one commander option per schema key (`--zk-connect <value>`), with the schema's
 * description, default and variable name in the help text. Parsing and validation stay in
 * loadConfig so flags and variables are checked the same way.
 */
export function addConfigOptions(command: Command, schema: TObject): Command {
  for (const [key, prop] of Object.entries(schema.properties as Record<string, TSchema>)) {
    const p = prop as { type?: string; description?: string; default?: unknown };
    const flags = p.type === 'boolean' ? `--${flagName(key)} [bool]` : `--${flagName(key)} <value>`;
    const dflt = p.default === undefined ? '' : ` (default: ${JSON.stringify(p.default)})`;
    command.addOption(new Option(flags, `${p.description ?? key}${dflt} [${envName(key)}]`));
  }
  return command;
}

// Settings shared by most services; spread them into a service schema:
//   const SearcherConfig = Type.Object({ ...CommonSettings, ...ZkSettings, column: Type.Integer() })

export const CommonSettings = {
  logLevel: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info', description: 'Log level' },
  ),
  dataDir: Type.String({
    default: '.imatch',
    description: 'Folder for local state (index, WAL, ledger, server data)',
  }),
};

export const ZkSettings = {
  zkConnect: Type.String({
    default: '127.0.0.1:2181',
    description: 'ZooKeeper connect string host:port[,host:port]',
  }),
  zkRoot: Type.String({
    default: '/imatch',
    pattern: '^/[A-Za-z0-9_./-]*$',
    description: 'Root znode of this deployment',
  }),
  zkSessionTimeoutMs: Type.Integer({
    default: 10000,
    minimum: 1000,
    description: 'ZooKeeper session timeout (ms)',
  }),
};

export const KafkaSettings = {
  kafkaBrokers: Type.Array(Type.String({ minLength: 3 }), {
    default: ['127.0.0.1:9092'],
    minItems: 1,
    description: 'Kafka bootstrap brokers, comma-separated host:port',
  }),
  kafkaClientId: Type.String({ default: 'imatch', description: 'Kafka client id prefix' }),
  topicChanges: Type.String({ default: 'imatch.changes', description: 'Kafka topic for change messages' }),
  topicPv: Type.String({ default: 'imatch.pv', description: 'Kafka topic for page-view records' }),
  topicClicks: Type.String({ default: 'imatch.clicks', description: 'Kafka topic for click decisions' }),
  topicSettlement: Type.String({
    default: 'imatch.settlement',
    description: 'Kafka topic for billable clicks',
  }),
  topicCorrections: Type.String({ default: 'imatch.corrections', description: 'Kafka topic for refunds' }),
};

/** The frame RPC listener of a service on the query path (core/frame-rpc.ts), beside its HTTP port. */
export const FramesSettings = {
  framesPort: Type.Integer({
    default: 0,
    minimum: -1,
    maximum: 65535,
    description:
      'Port of the frame RPC listener for the internal hop (core/frame-rpc.ts), on the same host; 0 = any free port, -1 = none (HTTP only)',
  }),
};

export const HttpSettings = {
  host: Type.String({ default: '127.0.0.1', description: 'Address to listen on' }),
  port: Type.Integer({
    default: 0,
    minimum: 0,
    maximum: 65535,
    description: 'Port to listen on (0 = any free port)',
  }),
};
