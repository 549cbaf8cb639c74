// The one CLI: `imatch <command>`. Each command lives in bin/commands/<name>.ts and registers
// itself on the program; this file only wires them together. This is the program's edge: the
// only place that hands process.env and argv to the config loader.
import { Command } from 'commander';
import { isImatchError } from '../core/errors.js';

const program = new Command('imatch')
  .description('iMatch-TS: a distributed sponsored-search ad engine')
  .version('0.1.0')
  .showHelpAfterError()
  .configureHelp({ sortSubcommands: true });

// Commands register here, one line each (keep alphabetical).
(await import('./commands/blender.js')).register(program);
(await import('./commands/billing.js')).register(program);
(await import('./commands/build-index.js')).register(program);
(await import('./commands/click-filter.js')).register(program);
(await import('./commands/correct-clicks.js')).register(program);
(await import('./commands/dispatch.js')).register(program);
(await import('./commands/docs.js')).register(program);
(await import('./commands/experiment.js')).register(program);
(await import('./commands/gen.js')).register(program);
(await import('./commands/infra.js')).register(program);
(await import('./commands/learner.js')).register(program);
(await import('./commands/merger.js')).register(program);
(await import('./commands/report.js')).register(program);
(await import('./commands/reports.js')).register(program);
(await import('./commands/searcher.js')).register(program);
(await import('./commands/simulate.js')).register(program);
(await import('./commands/spend.js')).register(program);
(await import('./commands/start.js')).register(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (isImatchError(err)) {
    process.stderr.write(`imatch: ${err.code}: ${err.message}\n`);
    process.exitCode = err.code === 'IM_ERR_CONFIG' ? 2 : 1;
  } else {
    process.stderr.write(`imatch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
