// `imatch report --day D [--customer C] [--csv|--json] [--url URL | --db FILE]`: the daily run.
// Without --customer: every customer active on the day (impressions, clicks, invalid clicks, cost,
// CTR, average CPC and position); with it: that customer's day with invalid clicks by reason.
// By default it asks a running reports service (--url); with --db it opens the database file
// itself (only while no service has it open: DuckDB allows one process per file).
// Exit codes: 0 done, 1 failure, 2 bad settings.
import { Type } from '@sinclair/typebox';
import type { Command } from 'commander';
import { request } from 'undici';
import { addConfigOptions, CommonSettings, loadConfig } from '../../core/config.js';
import { ImatchError } from '../../core/errors.js';
import { Id } from '../../core/model.js';
import { ReportsConfig } from '../../reports/config.js';
import { toCsv } from '../../reports/csv.js';
import { customerDay, customersDay } from '../../reports/queries.js';
import { DAY_SCHEMA_PATTERN } from '../../reports/routes/reports.js';
import { ReportStore } from '../../reports/store.js';
import { dayOf, isCalendarDay } from '../../reports/time.js';

const ReportConfig = Type.Object(
  {
    logLevel: CommonSettings.logLevel,
    day: Type.Optional(
      Type.String({ pattern: DAY_SCHEMA_PATTERN, description: 'Report day YYYY-MM-DD (default: today)' }),
    ),
    customer: Type.Optional(Id),
    csv: Type.Boolean({ default: false, description: 'Print CSV' }),
    json: Type.Boolean({ default: false, description: 'Print JSON' }),
    url: Type.String({
      default: 'http://127.0.0.1:8085',
      pattern: '^https?://[^\\s]+$',
      description: 'The reports service to ask',
    }),
    db: Type.Optional(
      Type.String({ minLength: 1, description: 'Read this database file instead of asking the service' }),
    ),
    timeZone: ReportsConfig.properties.timeZone,
  },
  { additionalProperties: false },
);

type Report = Record<string, unknown>;

async function ask(url: string, path: string): Promise<Report> {
  const target = `${url.replace(/\/$/, '')}${path}`;
  let res: Awaited<ReturnType<typeof request>>;
  try {
    res = await request(target);
  } catch (err) {
    throw new ImatchError(
      'IM_ERR_UPSTREAM_DOWN',
      `cannot reach the reports service at ${url} (${(err as Error).message}); start it (imatch reports) or give --url or --db`,
    );
  }
  const body = (await res.body.json()) as Report & { message?: string };
  if (res.statusCode !== 200)
    throw new ImatchError(
      res.statusCode === 400 ? 'IM_ERR_BAD_QUERY' : 'IM_ERR_UPSTREAM_DOWN',
      `reports answered ${res.statusCode}: ${body.message ?? ''}`,
    );
  return body;
}

const COLUMNS = [
  'customerId',
  'impressions',
  'clicks',
  'invalidClicks',
  'costMicros',
  'ctr',
  'avgCpcMicros',
  'avgPosition',
];

function table(rows: Report[]): string {
  const cells = [COLUMNS, ...rows.map((r) => COLUMNS.map((c) => String(r[c] ?? '')))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

export function register(program: Command): void {
  addConfigOptions(
    program
      .command('report')
      .description("The daily report: every customer's day, or one customer's (--customer)"),
    ReportConfig,
  ).action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(ReportConfig, { flags, env: process.env });
    const day = config.day ?? dayOf(Date.now(), config.timeZone);
    if (!isCalendarDay(day)) throw new ImatchError('IM_ERR_CONFIG', `--day: ${day} is not a calendar day`);
    let rows: Report[];
    if (config.db !== undefined) {
      const store = await ReportStore.open(config.db);
      try {
        rows = config.customer
          ? [{ ...(await customerDay(store, config.customer, day, config.timeZone)) }]
          : (await customersDay(store, day)).map((r) => ({ ...r }));
      } finally {
        await store.close();
      }
    } else if (config.customer) {
      rows = [
        await ask(config.url, `/v1/reports/customers/${encodeURIComponent(config.customer)}?day=${day}`),
      ];
    } else {
      rows = (await ask(config.url, `/v1/reports/customers?day=${day}`)).customers as Report[];
    }
    if (config.csv) process.stdout.write(toCsv(rows));
    else if (config.json)
      process.stdout.write(`${JSON.stringify(config.customer ? rows[0] : { day, customers: rows })}\n`);
    else {
      process.stdout.write(
        `report for ${day}${config.customer ? `, customer ${config.customer}` : ''}\n${table(rows)}\n`,
      );
      const invalid = config.customer
        ? (rows[0]?.invalidByReason as Record<string, number> | undefined)
        : undefined;
      if (invalid && Object.keys(invalid).length > 0)
        process.stdout.write(
          `invalid clicks by reason: ${Object.entries(invalid)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}\n`,
        );
    }
  });
}
