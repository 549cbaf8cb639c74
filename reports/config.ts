// Settings of the reports service (`imatch reports`) and of the daily report CLI: the shared
// ZooKeeper (registration under <root>/services/reports/<id>), Kafka and HTTP settings plus the
// analytics database file, the report time zone (give it billing's --time-zone so days match the
// ledger), raw-event retention and the dashboard's top-N size. Read once, then frozen.
import { type Static, Type } from '@sinclair/typebox';
import { CommonSettings, HttpSettings, KafkaSettings, ZkSettings } from '../core/config.js';
import { IdSetting, ServiceSettings } from '../core/service-runtime.js';

export const ReportsConfig = Type.Object(
  {
    ...CommonSettings,
    ...ZkSettings,
    ...KafkaSettings,
    ...HttpSettings,
    ...ServiceSettings,
    ...IdSetting,
    port: Type.Integer({
      default: 8085,
      minimum: 0,
      maximum: 65535,
      description: 'Port to listen on (0 = any free port)',
    }),
    dbPath: Type.Optional(
      Type.String({
        minLength: 1,
        description: 'DuckDB database file (default: <data-dir>/reports/reports.duckdb)',
      }),
    ),
    timeZone: Type.String({
      default: 'UTC',
      description: "IANA time zone of report days and hours (use billing's --time-zone)",
    }),
    retentionDays: Type.Integer({
      default: 30,
      minimum: 1,
      maximum: 3650,
      description: 'Days of raw events kept; older days are kept as hourly rollups',
    }),
    rollupEveryMs: Type.Integer({
      default: 3_600_000,
      minimum: 1_000,
      description: 'How often days past the retention are rolled up (ms)',
    }),
    groupId: Type.String({
      default: 'imatch-reports',
      description:
        "Kafka consumer group prefix; the database's own id is appended (a new database reads from the start)",
    }),
    maxBatch: Type.Integer({
      default: 20_000,
      minimum: 1,
      maximum: 100_000,
      description: 'Records written per database transaction at most',
    }),
    checkpointMb: Type.Integer({
      default: 256,
      minimum: 1,
      maximum: 65_536,
      description:
        'Write-ahead log size (MB) that triggers a database checkpoint (bigger: cheaper ingest, longer replay after a crash)',
    }),
    topN: Type.Integer({ default: 10, minimum: 1, maximum: 100, description: 'Dashboard top-N list size' }),
    dashboardTickMs: Type.Integer({
      default: 1_000,
      minimum: 100,
      maximum: 60_000,
      description: 'How often the dashboard pushes an update (ms)',
    }),
  },
  { additionalProperties: false },
);
export type ReportsConfig = Static<typeof ReportsConfig>;

export function dbPathOf(config: { dataDir: string; dbPath?: string | undefined }): string {
  return config.dbPath ?? `${config.dataDir.replace(/\/$/, '')}/reports/reports.duckdb`;
}
