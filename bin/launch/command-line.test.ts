import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addConfigOptions } from '../../core/config.js';
import { SearcherConfig } from '../../services/searcher/config.js';
import { commandLine } from './command-line.js';

describe('service command lines', () => {
  it('turns typed settings into the flags the command parses back', async () => {
    const args = commandLine('searcher', {
      column: 1,
      replica: 'r0',
      zkConnect: '127.0.0.1:2181',
      kafkaBrokers: ['a:9092', 'b:9092'],
      isupdate: false,
      advertiseHost: undefined,
    });
    expect(args).toEqual([
      'searcher',
      '--column',
      '1',
      '--replica',
      'r0',
      '--zk-connect',
      '127.0.0.1:2181',
      '--kafka-brokers',
      'a:9092,b:9092',
      '--isupdate',
      'false',
    ]);
    let parsed: Record<string, unknown> = {};
    const program = new Command().exitOverride();
    addConfigOptions(program.command('searcher'), SearcherConfig).action((flags) => {
      parsed = flags;
    });
    await program.parseAsync(args, { from: 'user' });
    expect(parsed).toMatchObject({
      column: '1',
      replica: 'r0',
      kafkaBrokers: 'a:9092,b:9092',
      isupdate: 'false',
    });
  });
});
