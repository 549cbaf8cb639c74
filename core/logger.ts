// pino logging for every service and CLI command. JSON lines by default; pretty output only when
// the log's destination is a terminal (so a service under `imatch start`, whose output goes to a
// file, always writes JSON). Components take a child logger:
// `log.child({ component: 'isupdate' })`.
import { type LevelWithSilent, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** Service or command name, written as `name` on every line. */
  name: string;
  /** pino level; default "info". */
  level?: LevelWithSilent;
  /** Force pretty (true) or JSON (false) output; default: pretty only on a TTY. */
  pretty?: boolean;
  /** Write to this file descriptor instead of stdout (2 = stderr, used by CLI commands that print data). */
  fd?: number;
}

export function createLogger(options: LoggerOptions): Logger {
  const fd = options.fd ?? 1;
  const pretty = options.pretty ?? (fd === 1 ? process.stdout.isTTY : process.stderr.isTTY) === true;
  const level = options.level ?? 'info';
  if (pretty) {
    return pino({
      name: options.name,
      level,
      transport: {
        target: 'pino-pretty',
        options: { destination: fd, colorize: true, translateTime: 'SYS:HH:MM:ss.l' },
      },
    });
  }
  return pino(
    { name: options.name, level, base: { name: options.name, pid: process.pid } },
    pino.destination({ fd, sync: false }),
  );
}

/** A logger that writes nothing, for unit tests and library defaults. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
