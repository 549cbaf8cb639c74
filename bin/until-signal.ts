// Keeps a service command alive until SIGTERM or SIGINT, then closes the service gracefully
// (a failed close sets exit code 1) and flushes the log. Shared by the service commands.
import type { Logger } from '../core/logger.js';

export async function closeOnSignal(log: Logger, close: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'signal received');
      close().then(resolve, (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exitCode = 1;
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  log.flush();
}
