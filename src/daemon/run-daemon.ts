import { rm } from 'node:fs/promises';
import { pino } from 'pino';
import { startApiServer } from './api-server.js';
import { Daemon } from './daemon.js';
import type { DaemonConfig } from './daemon-config.js';

/** `tsswarm daemon`: API first (so the CLI can see progress), then the roles; SIGTERM stops. */
export async function runDaemon(config: DaemonConfig): Promise<void> {
  const logger = pino({ level: process.env['TSSWARM_LOG_LEVEL'] ?? 'info' });
  const daemon = new Daemon(config, logger);
  const app = await startApiServer(daemon);
  let stopping: Promise<void> | undefined;
  const stop = (signal: string): Promise<void> =>
    (stopping ??= (async () => {
      logger.info({ signal }, 'shutting down');
      await app.close().catch(() => undefined);
      await daemon.shutdown().catch((err: unknown) => logger.error({ err }, 'shutdown failed'));
      await rm(daemon.socketPath, { force: true });
      logger.info('stopped');
      logger.flush();
      process.exit(0);
    })());
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  logger.info({ socket: daemon.socketPath, pid: process.pid }, 'API listening');
  try {
    await daemon.start();
  } catch (err) {
    logger.error({ err }, 'could not rejoin the swarm');
  }
}
