#!/usr/bin/env node
import { loadConfigIsolated } from './config/load-isolated.js';
import { ConfigError } from './config/errors.js';
import { createLogger } from './util/logger.js';
import { packageVersion, startApp } from './app.js';
import { startTarget } from './cluster/targets.js';

/** rubato's command line: Tempo's flags (-config.file, -config.expand-env, -target). */
async function main(): Promise<void> {
  let loaded: Awaited<ReturnType<typeof loadConfigIsolated>>;
  try {
    loaded = await loadConfigIsolated(process.argv.slice(2));
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`failed parsing config: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
  const { config, warnings, args, yaml } = loaded;
  if (args.version) {
    process.stdout.write(`rubato, version ${packageVersion()} (node ${process.version})\n`);
    process.exit(0);
  }
  if (args.verify) {
    // Tempo's -config.verify: the config loaded; say what was ignored and stop.
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write('config OK\n');
    process.exit(0);
  }
  const logger = createLogger(config.server.log_level, config.server.log_format);
  for (const w of warnings) logger.warn(w);
  // -target=all is one process with in-process calls; any other target is one module of a cluster.
  const app = config.target === 'all' ? await startApp(config, yaml, logger) : await startTarget(config, yaml, logger);
  logger.info({ ports: app.ports }, 'rubato started');

  let signalled = false;
  const shutdown = (signal: string) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting without flushing (the WAL keeps the data)');
      process.exit(1);
    }
    signalled = true;
    logger.info({ signal }, 'shutting down');
    const limit = config.server.graceful_shutdown_timeout;
    if (limit > 0) {
      setTimeout(() => {
        logger.error({ timeoutMs: limit }, 'shutdown took longer than server.graceful_shutdown_timeout; exiting (the WAL keeps what was not written)');
        process.exit(1);
      }, limit).unref();
    }
    app.stop().then(
      () => {
        logger.info('shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err: unknown) => {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  if (err instanceof ConfigError) {
    process.stderr.write(`rubato: ${err.message}\n`);
  } else if (e.code === 'EADDRINUSE' || e.code === 'EACCES' || e.code === 'EADDRNOTAVAIL') {
    process.stderr.write(
      `rubato: cannot listen on ${e.address ?? '?'}:${e.port ?? '?'}: ${e.code === 'EADDRINUSE' ? 'the port is in use (is another rubato or Tempo running?)' : e.message}\n`,
    );
  } else {
    process.stderr.write(`rubato: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exit(1);
});
