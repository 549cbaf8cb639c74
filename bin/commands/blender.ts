// `imatch blender`: runs one blender (services/blender), the public ad query API, until
// SIGTERM/SIGINT, then shuts down gracefully. Settings from flags and IMATCH_* variables
// (services/blender/config.ts). Prints the blender's URL on stdout once it is registered; logs go
// to stderr.

import type { Command } from 'commander';
import type { LevelWithSilent } from 'pino';
import { generateClickSecret } from '../../core/click-token.js';
import { addConfigOptions, loadConfig } from '../../core/config.js';
import { createLogger } from '../../core/logger.js';
import { BlenderConfig } from '../../services/blender/config.js';
import { startBlender } from '../../services/blender/server.js';
import { closeOnSignal } from '../until-signal.js';

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('blender')
      .description(
        'Run a blender: GET/POST /v1/ads (query rewrite, merger n+1, GSP pricing, click URLs, PV log to Kafka)',
      )
      .addHelpText(
        'after',
        `\nClick keys: --click-keys kid1:KEY[,kid2:KEY] --click-key-id kid2, KEY = 32 bytes as hex or base64.\nA fresh key: ${'`'}imatch blender-key${'`'}.`,
      ),
    BlenderConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(BlenderConfig, { flags, env: process.env });
    const log = createLogger({ name: 'blender', level: config.logLevel as LevelWithSilent, fd: 2 });
    const blender = await startBlender(config, log);
    process.stdout.write(`${JSON.stringify({ service: 'blender', id: blender.id, url: blender.url })}\n`);
    await closeOnSignal(log, () => blender.close());
  });

  program
    .command('blender-key')
    .description('Print a fresh random click-token key (base64url, 32 bytes) for --click-keys')
    .action(() => {
      process.stdout.write(`${generateClickSecret()}\n`);
    });
}
