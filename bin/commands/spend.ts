// `imatch spend --customer ID [--day YYYY-MM-DD] [--url URL] [--json]`: one customer's spend on a
// billing day. With --url it asks a running billing service (GET /v1/spend); otherwise it opens
// the ledger read-only (LMDB lets this run while billing writes). Exit codes: 0 found, 1 failure,
// 2 bad settings, 3 unknown customer.

import { existsSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { Command } from 'commander';
import { request } from 'undici';
import { BillingConfig, ledgerDirOf } from '../../billing/config.js';
import { BillingDay, checkTimeZone, dayOf } from '../../billing/day.js';
import { Ledger } from '../../billing/ledger.js';
import { formatSpendReport, type SpendReport, spendReport } from '../../billing/spend-report.js';
import { addConfigOptions, CommonSettings, loadConfig } from '../../core/config.js';
import { ImatchError } from '../../core/errors.js';
import { Id } from '../../core/model.js';

const SpendConfig = Type.Object(
  {
    dataDir: CommonSettings.dataDir,
    logLevel: CommonSettings.logLevel,
    ledgerDir: BillingConfig.properties.ledgerDir,
    timeZone: BillingConfig.properties.timeZone,
    customer: Id,
    day: Type.Optional(BillingDay),
    url: Type.Optional(
      Type.String({
        pattern: '^https?://[^\\s]+$',
        description: 'Ask this billing service instead of reading the ledger',
      }),
    ),
    json: Type.Boolean({ default: false, description: 'Print JSON' }),
  },
  { additionalProperties: false },
);

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('spend')
      .description("Show a customer's spend on a billing day (charged, refunded, net, budget)"),
    SpendConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(SpendConfig, { flags, env: process.env });
    let report: SpendReport | undefined;
    if (config.url) {
      const q = new URLSearchParams({
        customer: config.customer,
        ...(config.day ? { day: config.day } : {}),
      });
      const res = await request(`${config.url.replace(/\/$/, '')}/v1/spend?${q}`);
      const body = (await res.body.json()) as SpendReport & { message?: string };
      if (res.statusCode === 404) report = undefined;
      else if (res.statusCode !== 200)
        throw new ImatchError(
          'IM_ERR_UPSTREAM_DOWN',
          `billing answered ${res.statusCode}: ${body.message ?? ''}`,
        );
      else report = body;
    } else {
      try {
        checkTimeZone(config.timeZone);
      } catch {
        throw new ImatchError('IM_ERR_CONFIG', `--time-zone: unknown time zone "${config.timeZone}"`);
      }
      const dir = ledgerDirOf(config);
      if (!existsSync(dir))
        throw new ImatchError('IM_ERR_NOT_FOUND', `no ledger at ${dir} (give --ledger-dir or --url)`);
      const ledger = new Ledger({ path: dir, timeZone: config.timeZone, readOnly: true });
      try {
        report = spendReport(ledger, config.customer, config.day ?? dayOf(Date.now(), config.timeZone));
      } finally {
        await ledger.close();
      }
    }
    if (report === undefined) {
      process.stderr.write(`imatch: billing knows no customer "${config.customer}"\n`);
      process.exitCode = 3;
      return;
    }
    process.stdout.write(config.json ? `${JSON.stringify(report)}\n` : `${formatSpendReport(report)}\n`);
  });
}
