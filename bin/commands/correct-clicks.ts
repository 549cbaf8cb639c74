// `imatch correct-clicks --hour 2026-11-22T13`: the hourly correction (click-filter/correction/).
// Re-reads that hour's click decisions from Kafka, applies the hindsight rules, writes refunds to
// the corrections topic, prints a JSON summary on stdout. Safe to run again for the same hour.
// The block list used for the blocked-ip rule is ZooKeeper's config/click-filter as it is now
// (plus --blocked-cidrs); `--zookeeper false` skips ZooKeeper.
// Exit codes: 0 done, 1 failure, 2 bad settings.
import { Type } from '@sinclair/typebox';
import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { HOUR_PATTERN, hourOf, parseHour } from '../../click-filter/correction/hour.js';
import { runCorrection } from '../../click-filter/correction/run.js';
import { type ClickFilterDocument, compileBlockList } from '../../click-filter/settings.js';
import {
  addConfigOptions,
  CommonSettings,
  KafkaSettings,
  loadConfig,
  ZkSettings,
} from '../../core/config.js';
import { ImatchError } from '../../core/errors.js';
import { createKafka } from '../../core/kafka.js';
import { createLogger } from '../../core/logger.js';
import { zkPaths } from '../../core/zk-paths.js';
import { connectZk } from '../../core/zookeeper.js';

const CorrectConfig = Type.Object(
  {
    ...CommonSettings,
    ...ZkSettings,
    ...KafkaSettings,
    hour: Type.Optional(
      Type.String({
        pattern: HOUR_PATTERN,
        description: 'Hour to correct, UTC, YYYY-MM-DDTHH (default: the previous hour)',
      }),
    ),
    burstIpMax: Type.Integer({
      default: 100,
      minimum: 0,
      description: 'Clicks per address per hour above which its billable clicks are refunded (0 = off)',
    }),
    burstUserMax: Type.Integer({
      default: 30,
      minimum: 0,
      description: 'Clicks per user per hour above which its billable clicks are refunded (0 = off)',
    }),
    blockedCidrs: Type.Array(Type.String(), {
      default: [],
      description: 'Extra blocked ranges for the blocked-ip rule',
    }),
    zookeeper: Type.Boolean({
      default: true,
      description: 'Read the block list from ZooKeeper config/click-filter',
    }),
    slackMs: Type.Integer({
      default: 300_000,
      minimum: 0,
      description: 'Producer clock slack read on both sides of the hour (ms)',
    }),
    dryRun: Type.Boolean({ default: false, description: 'Compute and print the refunds, write nothing' }),
  },
  { additionalProperties: false },
);

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('correct-clicks')
      .description(
        'Hourly click correction: re-read an hour of click decisions, refund duplicates, bursts and blocked ranges',
      ),
    CorrectConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(CorrectConfig, { flags, env: process.env });
    const log = createLogger({ name: 'correct-clicks', level: config.logLevel as LevelWithSilent, fd: 2 });
    let hour: ReturnType<typeof parseHour>;
    try {
      hour = config.hour ? parseHour(config.hour) : hourOf(Date.now() - 3_600_000);
    } catch (err) {
      throw new ImatchError('IM_ERR_CONFIG', `--hour: ${(err as Error).message}`);
    }
    let cidrs = [...config.blockedCidrs];
    if (config.zookeeper) {
      const zk = await connectZk({
        connect: config.zkConnect,
        sessionTimeoutMs: config.zkSessionTimeoutMs,
        log,
      });
      try {
        const node = await zk.get(zkPaths(config.zkRoot).configClickFilter);
        const text = node?.data.toString('utf8').trim();
        if (text) {
          const doc = JSON.parse(text) as ClickFilterDocument;
          cidrs = [...cidrs, ...(doc.blockedCidrs ?? [])];
        }
      } finally {
        await zk.close();
      }
    }
    let blockList: ReturnType<typeof compileBlockList>;
    try {
      blockList = compileBlockList(cidrs, []);
    } catch (err) {
      throw new ImatchError('IM_ERR_CONFIG', `block list: ${(err as Error).message}`);
    }
    const kafka = createKafka({
      brokers: config.kafkaBrokers,
      clientId: `${config.kafkaClientId}-correct-clicks`,
      log,
    });
    const result = await runCorrection({
      kafka,
      clicksTopic: config.topicClicks,
      correctionsTopic: config.topicCorrections,
      hour,
      settings: { burstIpMax: config.burstIpMax, burstUserMax: config.burstUserMax, blockList },
      slackMs: config.slackMs,
      dryRun: config.dryRun,
      now: Date.now,
      log,
    });
    const { newRefunds, ...summary } = result;
    process.stdout.write(`${JSON.stringify(config.dryRun ? { ...summary, newRefunds } : summary)}\n`);
    log.flush();
  });
}
