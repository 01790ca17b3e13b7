/**
 * The SMTP server: MX (port 25 rules), submission (AUTH required), SMTPS (implicit TLS + submission rules) and a local
 * Unix socket (sessions count as the authenticated user "local", for `posthorn sendmail`). One SmtpServer serves any
 * number of listeners with shared limits (connections in total and per client address) and one timeout sweep.
 */
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, createServer as createTlsServer, type SecureContext, type TLSSocket } from 'node:tls';
import { chmod, lstat, unlink } from 'node:fs/promises';
import { connect as netConnect } from 'node:net';
import type { BlockList } from 'node:net';
import type { SmtpConfig } from '../../config/schema.js';
import type { Directory } from '../../directory/types.js';
import type { MailStore } from '../../store/types.js';
import type { OutboundQueue } from '../../delivery/types.js';
import type { Logger } from '../../observability/log.js';
import { DEFAULT_MAX_SASL_RESPONSE } from '../../protocol/sasl/mechanisms.js';
import { REPLIES, formatSpec } from '../../protocol/smtp/replies.js';
import { AuthThrottle } from '../auth-throttle.js';
import { SmtpConnection } from './connection.js';
import { isTrusted, trustedNetworks, type ListenerKind } from './policy.js';
import type { SessionContext } from './session.js';

export type { ListenerKind } from './policy.js';

export interface SmtpServerOptions {
  hostname: string;
  directory: Directory;
  store: MailStore;
  queue?: OutboundQueue;
  logger: Logger;
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** The parsed [smtp] section (src/config/schema.ts). */
  config: SmtpConfig;
  /** Clock for timeouts and throttling (tests inject one). */
  now?: () => number;
}

/** How often idle sessions are checked for timeouts. */
const SWEEP_INTERVAL_MS = 1000;
/** A session closed by us whose socket has not finished closing is destroyed after this long. */
const CLOSE_LINGER_MS = 5000;

export class SmtpServer implements SessionContext {
  readonly hostname: string;
  readonly config: SmtpConfig;
  readonly directory: Directory;
  readonly store: MailStore;
  readonly queue?: OutboundQueue;
  readonly logger: Logger;
  readonly throttle: AuthThrottle;
  readonly saslMaxLine = DEFAULT_MAX_SASL_RESPONSE + 2;
  readonly now: () => number;
  private tlsContext: SecureContext | null = null;
  private tlsOptions: { key: string | Buffer; cert: string | Buffer; minVersion: 'TLSv1.2' } | null = null;
  private readonly servers: Array<{ server: Server; kind: ListenerKind }> = [];
  private readonly connections = new Set<SmtpConnection>();
  private readonly perAddress = new Map<string, number>();
  private readonly trusted: BlockList;
  private sweeper: NodeJS.Timeout | null = null;
  private closing = false;
  private closeWaiters: Array<() => void> = [];

  constructor(options: SmtpServerOptions) {
    this.hostname = options.hostname;
    this.config = options.config;
    this.directory = options.directory;
    this.store = options.store;
    this.queue = options.queue;
    this.logger = options.logger;
    this.now = options.now ?? Date.now;
    this.trusted = trustedNetworks(options.config.trusted_networks);
    this.throttle = new AuthThrottle({
      freeFailures: options.config.auth_free_failures,
      delayStepMs: options.config.auth_delay_step * 1000,
      maxDelayMs: options.config.auth_max_delay * 1000,
      lockoutAfter: options.config.auth_lockout_after,
      lockoutMs: options.config.auth_lockout_time * 1000,
      now: this.now,
    });
    if (options.tls) this.updateTls(options.tls);
  }

  secureContext(): SecureContext | null {
    return this.tlsContext;
  }

  /** Replace the certificate (new connections and STARTTLS use it at once). */
  updateTls(tls: { key: string | Buffer; cert: string | Buffer }): void {
    this.tlsOptions = { key: tls.key, cert: tls.cert, minVersion: 'TLSv1.2' };
    this.tlsContext = createSecureContext(this.tlsOptions);
    for (const { server, kind } of this.servers) {
      if (kind === 'smtps') (server as ReturnType<typeof createTlsServer>).setSecureContext(this.tlsOptions);
    }
  }

  /** Open a listener. Resolves with the bound address (AddressInfo, or the socket path for 'local'). */
  async listen(kind: ListenerKind, address: { host: string; port: number } | { path: string }): Promise<AddressInfo | string> {
    if (this.closing) throw new Error('SMTP server is closing');
    let server: Server;
    if (kind === 'smtps') {
      if (!this.tlsOptions) throw new Error('SMTPS listener needs a TLS certificate');
      server = createTlsServer({ ...this.tlsOptions, allowHalfOpen: true }, (socket: TLSSocket) => this.accept(socket, kind));
      server.on('tlsClientError', (err: Error) => this.logger.debug('smtp.tls_error', { error: err }));
    } else {
      // Half-open: a client may send everything and shut down its side (as `... | nc` does); it still gets every reply.
      server = createNetServer({ allowHalfOpen: true }, (socket) => this.accept(socket, kind));
    }
    server.on('error', (err) => this.logger.error('smtp.listener_error', { kind, error: err }));
    if ('path' in address) await removeStaleSocket(address.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if ('path' in address) server.listen(address.path, () => resolve());
      else server.listen(address.port, address.host, () => resolve());
    }).finally(() => server.removeAllListeners('error'));
    server.on('error', (err) => this.logger.error('smtp.listener_error', { kind, error: err }));
    if ('path' in address) await chmod(address.path, 0o660).catch(() => {});
    this.servers.push({ server, kind });
    if (!this.sweeper) {
      this.sweeper = setInterval(() => this.checkTimeouts(), SWEEP_INTERVAL_MS);
      this.sweeper.unref();
    }
    const bound = server.address();
    this.logger.info('smtp.listening', { kind, address: bound });
    return bound ?? ('path' in address ? address.path : '');
  }

  /** Sessions currently open. */
  get connectionCount(): number {
    return this.connections.size;
  }

  private accept(socket: Socket, kind: ListenerKind): void {
    const address = socket.remoteAddress ?? '';
    const trusted = kind === 'local' || isTrusted(this.trusted, address);
    if (this.closing) return this.refuse(socket, REPLIES.shuttingDown);
    if (!trusted) {
      if (this.connections.size >= this.config.max_connections) return this.refuse(socket, REPLIES.tooManyConnections);
      const count = this.perAddress.get(address) ?? 0;
      if (count >= this.config.max_connections_per_ip) return this.refuse(socket, REPLIES.tooManyConnectionsFromIp);
      this.perAddress.set(address, count + 1);
    }
    socket.setNoDelay(true);
    const connection = new SmtpConnection(socket, this, kind, kind === 'local' ? '' : address);
    if (!trusted) connection.counted = true;
    this.connections.add(connection);
    if (this.config.greeting_delay > 0) {
      setTimeout(() => {
        if (!connection.isClosed) connection.greet();
      }, this.config.greeting_delay * 1000).unref();
    } else {
      connection.greet();
    }
  }

  private refuse(socket: Socket, spec: (typeof REPLIES)[keyof typeof REPLIES]): void {
    socket.on('error', () => {});
    socket.end(formatSpec(spec));
    setTimeout(() => socket.destroy(), CLOSE_LINGER_MS).unref();
  }

  connectionClosed(connection: SmtpConnection): void {
    if (!this.connections.delete(connection)) return;
    if (connection.counted) {
      const address = connection.remoteAddress;
      const count = (this.perAddress.get(address) ?? 1) - 1;
      if (count <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, count);
    }
    if (this.closing && this.connections.size === 0) for (const w of this.closeWaiters.splice(0)) w();
  }

  /** Time out idle sessions (RFC 5321 4.5.3.2 values by default). Runs every second; tests call it with a fake clock. */
  checkTimeouts(): void {
    const now = this.now();
    const commandMs = this.config.timeout_command * 1000;
    const dataMs = this.config.timeout_data_block * 1000;
    for (const c of this.connections) {
      if (c.isClosed) {
        if (now - c.closedAt > CLOSE_LINGER_MS) c.destroy();
        continue;
      }
      if (c.isBusy) continue;
      const limit = c.mode.kind === 'data' || c.mode.kind === 'bdat' ? dataMs : commandMs;
      if (now - c.lastActive > limit) c.forceClose(REPLIES.timeout);
    }
  }

  /** Stop accepting; let sessions finish for graceMs; then send "421 4.3.2 Service closing" and close. */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    // server.close() stops accepting at once; its callback would wait for every connection, so it is not awaited.
    for (const { server } of this.servers) server.close();
    this.servers.length = 0;
    for (const c of this.connections) c.drain();
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
        this.closeWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    for (const c of this.connections) c.forceClose(REPLIES.shuttingDown);
    if (this.connections.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          for (const c of this.connections) c.destroy();
          resolve();
        }, 1000);
        timer.unref();
        this.closeWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}

/** A Unix socket left behind by a process that is gone (nobody accepts on it) is removed; a live one is left alone. */
async function removeStaleSocket(path: string): Promise<void> {
  const info = await lstat(path).catch(() => null);
  if (!info?.isSocket()) return;
  const alive = await new Promise<boolean>((resolve) => {
    const probe = netConnect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (!alive) await unlink(path).catch(() => {});
}
