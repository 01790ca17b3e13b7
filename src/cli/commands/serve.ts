/** posthorn serve: run the mail server on a data directory. */
import type { Command } from 'commander';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { loadConfig, defaultConfigPath, ConfigError, type ConfigOverrides } from '../../config/load.js';
import { SAMPLE_CONFIG } from '../../config/sample.js';
import { createLogger, type LogLevel } from '../../observability/log.js';
import type { BoundListener } from '../../server/app.js';
import { dataDirOf, run, UsageError } from '../options.js';
import { packageVersion } from '../version.js';

export interface ServeFlags {
  data?: string;
  config?: string;
  hostname?: string;
  smtp?: string;
  submission?: string;
  smtps?: string;
  pop3?: string;
  pop3s?: string;
  http?: string;
  tlsCert?: string;
  tlsKey?: string;
  logLevel?: string;
  route?: string[];
  smarthost?: string;
  dns?: string;
}

/** Flags as config overrides (dotted keys); every flag wins over the file. */
export function overridesFromFlags(flags: ServeFlags): ConfigOverrides {
  const o: ConfigOverrides = {
    hostname: flags.hostname,
    log_level: flags.logLevel,
    'listeners.smtp': flags.smtp,
    'listeners.submission': flags.submission,
    'listeners.smtps': flags.smtps,
    'listeners.pop3': flags.pop3,
    'listeners.pop3s': flags.pop3s,
    'listeners.http': flags.http,
    'tls.cert': flags.tlsCert,
    'tls.key': flags.tlsKey,
    'delivery.smarthost': flags.smarthost,
    'delivery.dns': flags.dns,
  };
  if (flags.route?.length) {
    const routes: Record<string, string> = {};
    for (const route of flags.route) {
      const eq = route.indexOf('=');
      if (eq <= 0) throw new UsageError(`--route ${route}: expected DOMAIN=HOST:PORT`);
      routes[route.slice(0, eq).toLowerCase()] = route.slice(eq + 1);
    }
    o['delivery.routes'] = routes; // merged with the file's routes
  }
  return o;
}

/** The flag behind each override, for error messages. */
export const FLAG_OF: Record<string, string> = {
  hostname: '--hostname',
  log_level: '--log-level',
  'listeners.smtp': '--smtp',
  'listeners.submission': '--submission',
  'listeners.smtps': '--smtps',
  'listeners.pop3': '--pop3',
  'listeners.pop3s': '--pop3s',
  'listeners.http': '--http',
  'tls.cert': '--tls-cert',
  'tls.key': '--tls-key',
  'delivery.smarthost': '--smarthost',
  'delivery.dns': '--dns',
  'delivery.routes': '--route',
};

const LABELS: Record<string, string> = {
  smtp: 'SMTP (MX)',
  submission: 'Submission (STARTTLS + AUTH)',
  smtps: 'SMTPS (implicit TLS + AUTH)',
  pop3: 'POP3 (STLS)',
  pop3s: 'POP3S (implicit TLS)',
  http: 'HTTP (status)',
  local: 'Local submission socket',
};

function banner(listeners: BoundListener[], dataDir: string, hostname: string): string {
  const shown = relative(process.cwd(), dataDir) || '.';
  const data = shown.startsWith('..') ? dataDir : shown;
  const lines = [`Posthorn ${packageVersion()} serving ${data} as ${hostname}`];
  for (const l of listeners) lines.push(`  ${(LABELS[l.name] ?? l.name).padEnd(30)} ${l.address}`);
  lines.push(`Add a user:  npx posthorn domain add example.com --data ${data}`);
  lines.push(`             npx posthorn user add alice@example.com --password-stdin --data ${data}`);
  return lines.join('\n');
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the mail server')
    .option('--data <dir>', 'data directory (default ./data, or $POSTHORN_DATA)')
    .option('--config <file>', 'configuration file (default <data>/posthorn.toml)')
    .option('--hostname <name>', 'host name for greetings and the certificate')
    .option('--smtp <host:port>', 'MX listener, or "off"')
    .option('--submission <host:port>', 'submission listener, or "off"')
    .option('--smtps <host:port>', 'SMTPS listener, or "off"')
    .option('--pop3 <host:port>', 'POP3 listener, or "off"')
    .option('--pop3s <host:port>', 'POP3S listener, or "off"')
    .option('--http <host:port>', 'HTTP listener, or "off"')
    .option('--tls-cert <file>', 'TLS certificate (PEM)')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--log-level <level>', 'debug | info | warn | error')
    .option('--route <domain=host:port>', 'static route for outbound mail (repeatable; "*" matches every domain)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--smarthost <url>', 'relay outbound mail through this server (smtp://, smtps://, smtp+starttls://)')
    .option('--dns <host:port>', 'DNS resolver for MX lookups')
    .action((flags: ServeFlags) => run(() => serve(flags)));
}

async function serve(flags: ServeFlags): Promise<void> {
  const dataDir = dataDirOf(flags);
  mkdirSync(dataDir, { recursive: true });
  if (!flags.config && !existsSync(defaultConfigPath(dataDir))) {
    writeFileSync(defaultConfigPath(dataDir), SAMPLE_CONFIG, { flag: 'wx' });
  }
  const { config } = loadConfig({ dataDir, configFile: flags.config, overrides: overridesFromFlags(flags), overrideLabels: FLAG_OF });
  const logger = createLogger({ level: config.log_level as LogLevel });
  // Loaded here so that other commands (sendmail, parse) start without the server's modules.
  const { PosthornApp } = await import('../../server/app.js');
  const app = new PosthornApp({ dataDir, config, logger, version: packageVersion() });
  let listeners: BoundListener[];
  try {
    listeners = await app.start();
  } catch (err) {
    await app.stop(0).catch(() => {});
    const e = err as NodeJS.ErrnoException;
    // A bad route or smarthost URL is a configuration problem: one line, like the schema's errors.
    if (e.name === 'RouteError') throw new ConfigError(`delivery: ${e.message}`);
    if (e.code === 'EADDRINUSE' || e.code === 'EACCES') {
      throw new UsageError(`cannot listen on ${(e as { address?: string }).address ?? ''}:${(e as { port?: number }).port ?? ''}: ${e.code === 'EADDRINUSE' ? 'address already in use' : 'permission denied'}`);
    }
    throw err;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      logger.warn('server.forced_exit', { signal });
      process.exit(1);
    }
    stopping = true;
    logger.info('server.stopping', { signal });
    app.stop(10_000).then(
      () => {
        logger.info('server.stopped');
        process.exit(0);
      },
      (err) => {
        logger.error('server.stop_failed', { error: err });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // The banner comes last: whoever reads it (a test, a supervisor) may signal at once, and the handlers must be there.
  process.stdout.write(banner(listeners, dataDir, app.hostname) + '\n');
}
