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

// Commands, one name each (keep alphabetical): bin/commands/<name>.ts registers `imatch <name>`.
const COMMANDS = [
  'billing',
  'blender',
  'build-index',
  'click-filter',
  'correct-clicks',
  'dispatch',
  'docs',
  'experiment',
  'gen',
  'infra',
  'learner',
  'merger',
  'report',
  'reports',
  'searcher',
  'simulate',
  'spend',
  'start',
] as const;

// A service process loads its own command's modules only: importing every command would put the
// data generator's faker locales and DuckDB's native bindings into each searcher's, merger's and
// blender's heap (about 10 MB more to mark at every full GC on the query path). Help, version and
// unknown commands load them all, so commander can list and suggest.
const asked = process.argv[2];
const only = COMMANDS.find((c) => c === asked);
for (const name of only === undefined ? COMMANDS : [only]) {
  ((await import(`./commands/${name}.js`)) as { register(p: Command): void }).register(program);
}

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
