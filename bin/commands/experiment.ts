// `imatch experiment [--arms quality=50,ctr=50] [--zk-connect ..] [--zk-root ..]`: shows the
// experiment in force (`<root>/config/experiment`, core/experiment.ts) or, with --arms, sets it.
// Every blender applies it within a ZooKeeper round trip, no restart. `--arms off` deletes it
// (every user back in the quality arm). Exit codes: 0 done, 2 bad settings.
import { Type } from '@sinclair/typebox';
import type { Command } from 'commander';
import { addConfigOptions, loadConfig, ZkSettings } from '../../core/config.js';
import { ImatchError } from '../../core/errors.js';
import { DEFAULT_EXPERIMENT, parseArmsFlag, parseExperiment } from '../../core/experiment.js';
import { zkPaths } from '../../core/zk-paths.js';
import { connectZk } from '../../core/zookeeper.js';

const ExperimentCommandConfig = Type.Object(
  {
    zkConnect: ZkSettings.zkConnect,
    zkRoot: ZkSettings.zkRoot,
    arms: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'Set the arms: <arm>=<percent>,... adding up to 100 (arms: quality, ctr), or "off"',
      }),
    ),
  },
  { additionalProperties: false },
);

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('experiment')
      .description('Show or set the experiment arms (traffic split by user between quality and ctr ranking)'),
    ExperimentCommandConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(ExperimentCommandConfig, { flags, env: process.env });
    let next: string | undefined;
    if (config.arms !== undefined && config.arms !== 'off') {
      try {
        next = JSON.stringify(parseArmsFlag(config.arms));
      } catch (err) {
        throw new ImatchError('IM_ERR_CONFIG', (err as Error).message);
      }
    }
    const path = zkPaths(config.zkRoot).configExperiment;
    const zk = await connectZk({ connect: config.zkConnect, sessionTimeoutMs: 10_000 });
    try {
      if (config.arms === 'off') {
        if ((await zk.exists(path)) !== null) await zk.delete(path);
      } else if (next !== undefined) await zk.put(path, next);
      const node = await zk.get(path);
      const inForce = node === null ? DEFAULT_EXPERIMENT : parseExperiment(JSON.parse(node.data.toString()));
      process.stdout.write(`${JSON.stringify({ path, configured: node !== null, arms: inForce.arms })}\n`);
    } finally {
      await zk.close();
    }
  });
}
