/**
 * The running server: loads TLS, opens the directory and the store, starts every configured listener, and stops them
 * gracefully. `posthorn serve` is a thin shell around this; tests start it in-process on port 0.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import type { PosthornConfig, ListenerName } from '../config/schema.js';
import { parseHostPort } from '../config/schema.js';
import { SqliteDirectory } from '../directory/sqlite.js';
import type { MailStore } from '../store/types.js';
import type { Logger } from '../observability/log.js';
import { loadTls, type TlsMaterial } from './tls.js';
import { ViewerServer } from './http/viewer.js';
import { AuthThrottle } from './auth-throttle.js';
import { openStore } from './store-factory.js';
import { SmtpServer } from './smtp/index.js';
import { Pop3Server } from './pop3/index.js';
import { createDelivery, type Delivery } from '../delivery/index.js';
import { localSocketPath } from '../client/local.js';

export interface BoundListener {
  name: ListenerName | 'local';
  /** "127.0.0.1:2525" or a socket path. */
  address: string;
  port?: number;
}

interface Stoppable {
  close(graceMs?: number): Promise<void>;
}

export interface AppOptions {
  dataDir: string;
  config: PosthornConfig;
  logger: Logger;
  version?: string;
}

export class PosthornApp {
  readonly hostname: string;
  readonly directory: SqliteDirectory;
  store!: MailStore;
  tls!: TlsMaterial;
  delivery!: Delivery;
  readonly listeners: BoundListener[] = [];
  /** Protocol servers, closed first on stop (they may still hand messages to the store and the queue). */
  private readonly services: Stoppable[] = [];
  private readonly startedAt = Date.now();
  /** Failed-login throttling shared by the listeners that take passwords (web logins count with SMTP and POP3). */
  readonly throttle: AuthThrottle;

  constructor(private readonly options: AppOptions) {
    this.hostname = options.config.hostname ?? osHostname();
    mkdirSync(options.dataDir, { recursive: true });
    this.directory = new SqliteDirectory({ dataDir: options.dataDir });
    const smtp = options.config.smtp;
    this.throttle = new AuthThrottle({
      freeFailures: smtp.auth_free_failures,
      delayStepMs: smtp.auth_delay_step * 1000,
      maxDelayMs: smtp.auth_max_delay * 1000,
      lockoutAfter: smtp.auth_lockout_after,
      lockoutMs: smtp.auth_lockout_time * 1000,
    });
  }

  get logger(): Logger {
    return this.options.logger;
  }

  async start(): Promise<BoundListener[]> {
    const { config, dataDir, logger } = this.options;
    this.tls = await loadTls({ dataDir, hostname: this.hostname, cert: config.tls.cert, key: config.tls.key });
    if (this.tls.selfSigned) {
      logger.warn('tls.self_signed', { file: this.tls.source, hostname: this.hostname, note: 'clients will not trust it; configure tls.cert and tls.key for production' });
    } else {
      logger.info('tls.loaded', { file: this.tls.source });
    }
    this.store = await openStore(dataDir, this.hostname);
    await this.store.recover();

    this.delivery = createDelivery({
      dataDir,
      config: config.delivery,
      hostname: this.hostname,
      store: this.store,
      directory: this.directory,
      logger,
    });
    await this.delivery.start();

    const tls = { key: this.tls.key, cert: this.tls.cert };
    const smtp = new SmtpServer({
      hostname: this.hostname,
      directory: this.directory,
      store: this.store,
      queue: this.delivery.queue,
      logger: logger.child({ component: 'smtp' }),
      tls,
      config: config.smtp,
    });
    this.services.push(smtp);
    const smtpListeners = [
      ['smtp', 'mx'],
      ['submission', 'submission'],
      ['smtps', 'smtps'],
    ] as const;
    for (const [name, kind] of smtpListeners) {
      const value = config.listeners[name];
      if (value !== 'off') this.record(name, await smtp.listen(kind, parseHostPort(value)!));
    }
    this.record('local', await smtp.listen('local', { path: localSocketPath(dataDir) }));

    const pop3 = new Pop3Server({
      hostname: this.hostname,
      directory: this.directory,
      store: this.store,
      logger: logger.child({ component: 'pop3' }),
      tls,
      config: config.pop3,
    });
    this.services.push(pop3);
    for (const name of ['pop3', 'pop3s'] as const) {
      const value = config.listeners[name];
      if (value !== 'off') this.record(name, await pop3.listen(name, parseHostPort(value)!));
    }

    const http = config.listeners.http;
    if (http !== 'off') {
      const address = parseHostPort(http)!;
      const server = new ViewerServer({
        dataDir,
        config: config.http,
        listenHost: address.host,
        dev: config.dev.enabled,
        logger: logger.child({ component: 'http' }),
        throttle: this.throttle,
        verifyPassword: (user, password) => this.directory.authenticate(user, password),
        status: () => this.status(),
        tls,
      });
      this.services.push(server);
      this.record('http', await server.listen(address));
    }
    for (const l of this.listeners) logger.debug('listener.started', { listener: l.name, address: l.address });
    return this.listeners;
  }

  private record(name: BoundListener['name'], bound: AddressInfo | string): void {
    if (typeof bound === 'string') {
      this.listeners.push({ name, address: bound });
    } else {
      const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
      this.listeners.push({ name, address: `${host}:${bound.port}`, port: bound.port });
    }
  }

  status(): Record<string, unknown> {
    return {
      name: 'posthorn',
      version: this.options.version ?? null,
      hostname: this.hostname,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      listeners: this.listeners,
      ...this.directory.counts(),
      queue: this.delivery ? this.delivery.list().length : 0,
    };
  }

  /** Stop accepting, give sessions graceMs to finish, then close them with the protocol's closing reply. */
  async stop(graceMs = 10_000): Promise<void> {
    await Promise.allSettled(this.services.map((s) => s.close(graceMs)));
    this.services.length = 0;
    await this.delivery?.stop();
    await this.store?.close();
    this.directory.close();
  }
}
