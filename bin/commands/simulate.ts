// `imatch simulate`: drives a running engine like a population of users, deterministic per seed
// (simulator/): queries from the query log with user ids, a hidden true click model, clicks
// through the real click URLs after human delays; writes per-arm queries, impressions, clicks,
// CTR, cost and revenue per 1,000 queries (checked against billing's ledger) and the learner's
// held-out figures to --json. Exit codes: 0 done, 1 failure (the ledger disagrees with the
// clicks' prices, an upstream is down), 2 bad settings, 130 stopped by Ctrl-C (document written).
import type { Command } from 'commander';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { checkSimulateConfig, experimentOf, SimulateConfig } from '../../simulator/config.js';
import { runSimulation, writeResult } from '../../simulator/run.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('simulate')
      .description(
        'Drive a running engine like a population of users (deterministic per seed) and report CTR and revenue per experiment arm',
      )
      .addHelpText(
        'after',
        '\nExample: imatch simulate --blender http://127.0.0.1:8080 --click-base http://127.0.0.1:8081 ' +
          '--billing http://127.0.0.1:8084 --arms quality=50,ctr=50 --queries 20000 --seed 1 --json sim.json\n' +
          "The click filter must see each user's address: start it with --trust-proxy true (the simulator sends X-Forwarded-For).",
      ),
    SimulateConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(SimulateConfig, { flags, env: process.env });
    checkSimulateConfig(config);
    const say = (line: string) => process.stderr.write(`${line}\n`);
    let stop: () => void = () => undefined;
    const stopSignal = new Promise<void>((resolve) => {
      stop = resolve;
    });
    let signals = 0;
    const onSignal = () => {
      // The second Ctrl-C does not wait for the scheduled clicks.
      if (++signals > 1) process.exit(130);
      stop();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const result = await runSimulation(config, experimentOf(config), { say, stopSignal });
      await writeResult(config.json, result);
      say(`simulate: wrote ${config.json}`);
      process.stdout.write(`${JSON.stringify({ arms: result.arms, learner: result.learner })}\n`);
      if (!result.ledger.ok) {
        say(`simulate: LEDGER CHECK FAILED: ${result.ledger.problem ?? ''}`);
        process.exitCode = 1;
      } else if (result.interrupted) process.exitCode = 130;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}
