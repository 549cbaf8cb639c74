// Fetches the ZooKeeper and Kafka server jars from Maven Central with the machine's `mvn`, once:
// each server's POM (infra/maven/<server>/pom.xml) is resolved with
// `mvn dependency:copy-dependencies` into `<cacheDir>/<server>-<version>-<pom hash>/lib`, next to
// a Maven repository of its own (`<cacheDir>/m2`). A folder is only used once its `.complete`
// marker exists, so an interrupted fetch is redone and a cached one costs one stat().
// Concurrency: the two servers are fetched one after the other (they share the Maven repository);
// two processes fetching the same server at once serialize on a lock folder.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ImatchError } from '../core/errors.js';
import { type Logger, silentLogger } from '../core/logger.js';
import { expandPath } from './settings.js';

export type ServerName = 'zookeeper' | 'kafka';
export const SERVER_NAMES: readonly ServerName[] = ['zookeeper', 'kafka'];

export interface ServerJars {
  server: ServerName;
  /** Version of the server artifact, from its POM. */
  version: string;
  /** Folder holding every jar of the server's classpath. */
  libDir: string;
  /** The `-cp` argument for java (`<libDir>/*`). */
  classpath: string;
  jarCount: number;
  /** True when the jars were already cached and Maven did not run. */
  fromCache: boolean;
}

export interface FetchOptions {
  /** Cache folder (`~` is expanded). */
  cacheDir: string;
  log?: Logger;
  /** Maven executable; default `mvn` on PATH. */
  mvn?: string;
}

const LOCK_STALE_MS = 15 * 60_000;

/** Fetches (or finds in the cache) both servers. */
export async function fetchServers(options: FetchOptions): Promise<Record<ServerName, ServerJars>> {
  const zookeeper = await fetchServer('zookeeper', options);
  const kafka = await fetchServer('kafka', options);
  return { zookeeper, kafka };
}

export function pomPath(server: ServerName): string {
  const candidates = [
    new URL(`./maven/${server}/pom.xml`, import.meta.url), // running from source (tsx, vitest)
    new URL(`../../infra/maven/${server}/pom.xml`, import.meta.url), // running from dist/infra
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new ImatchError(
    'IM_ERR_INFRA',
    `Cannot find infra/maven/${server}/pom.xml next to ${import.meta.url}`,
  );
}

export async function fetchServer(server: ServerName, options: FetchOptions): Promise<ServerJars> {
  const log = (options.log ?? silentLogger()).child({ component: 'infra-fetch', server });
  const cacheDir = expandPath(options.cacheDir);
  const pom = pomPath(server);
  const pomText = await readFile(pom, 'utf8');
  const version =
    /<artifactId>[^<]+-server<\/artifactId>\s*<version>([^<]+)<\/version>/.exec(pomText)?.[1] ?? 'unknown';
  const hash = createHash('sha256').update(pomText).digest('hex').slice(0, 10);
  const dir = join(cacheDir, `${server}-${version}-${hash}`);
  const libDir = join(dir, 'lib');
  const marker = join(dir, '.complete');

  if (existsSync(marker)) return described(server, version, libDir, true);

  await mkdir(cacheDir, { recursive: true });
  const lock = `${dir}.lock`;
  if (!(await acquireLock(lock, marker, log))) return described(server, version, libDir, true);
  try {
    if (existsSync(marker)) return described(server, version, libDir, true);
    const started = Date.now();
    log.info({ cacheDir }, `fetching ${server} ${version} from Maven Central (first time only)`);
    const tmp = `${dir}.tmp-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await runMaven(options.mvn ?? 'mvn', [
      '-B',
      '-q',
      '-Dstyle.color=never',
      '-f',
      pom,
      `-Dmaven.repo.local=${join(cacheDir, 'm2')}`,
      'dependency:copy-dependencies',
      `-DoutputDirectory=${join(tmp, 'lib')}`,
      '-DincludeScope=runtime',
    ]);
    await writeFile(join(tmp, 'pom.xml'), pomText);
    await writeFile(join(tmp, '.complete'), `${new Date().toISOString()}\n`);
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    const jars = described(server, version, libDir, false);
    log.info({ ms: Date.now() - started, jars: (await jars).jarCount }, `fetched ${server} ${version}`);
    return jars;
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

async function described(
  server: ServerName,
  version: string,
  libDir: string,
  fromCache: boolean,
): Promise<ServerJars> {
  const jars = (await readdir(libDir)).filter((f) => f.endsWith('.jar'));
  if (jars.length === 0)
    throw new ImatchError('IM_ERR_INFRA', `No jars in ${libDir}; delete its folder and fetch again`);
  return { server, version, libDir, classpath: join(libDir, '*'), jarCount: jars.length, fromCache };
}

/** True when we hold the lock; false when another process finished the fetch meanwhile. */
async function acquireLock(lock: string, marker: string, log: Logger): Promise<boolean> {
  for (let warned = false; ; ) {
    try {
      await mkdir(lock);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const age = Date.now() - (await stat(lock).catch(() => ({ mtimeMs: Date.now() }))).mtimeMs;
    if (age > LOCK_STALE_MS) {
      await rm(lock, { recursive: true, force: true });
      continue;
    }
    if (existsSync(marker)) return false;
    if (!warned) log.info({ lock }, 'another process is fetching the same server; waiting for it');
    warned = true;
    await sleep(500);
  }
}

function runMaven(mvn: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(mvn, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (!err) return resolve();
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return reject(
          new ImatchError(
            'IM_ERR_INFRA',
            `Maven ("${mvn}") is not on PATH. Install Maven and Java 17 (Debian: apt-get install maven openjdk-17-jre-headless)`,
          ),
        );
      }
      const output = `${stdout}\n${stderr}`
        .split('\n')
        .filter((l) => l.trim() !== '')
        .slice(-25)
        .join('\n');
      reject(new ImatchError('IM_ERR_INFRA', `mvn ${args.join(' ')} failed:\n${output}`, { cause: err }));
    });
  });
}
