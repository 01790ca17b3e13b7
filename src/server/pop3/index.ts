/**
 * The POP3 server (RFC 1939 with CAPA, STLS, AUTH, UTF8): listeners for "pop3" (plain, STLS offered) and "pop3s"
 * (implicit TLS), connection limits, graceful shutdown. Sessions live in session.ts, commands in commands/.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Directory } from '../../directory/types.js';
import type { MailStore } from '../../store/types.js';
import type { Logger } from '../../observability/log.js';
import type { Pop3Config } from '../../config/schema.js';
import { AuthThrottle } from '../auth-throttle.js';
import { err } from '../../protocol/pop3/response.js';
import type { ServerContext } from './context.js';
import { Pop3Session } from './session.js';

export interface Pop3ServerOptions {
  hostname: string;
  directory: Directory;
  store: MailStore;
  logger: Logger;
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** The parsed [pop3] section. */
  config: Pop3Config;
  now?: () => number;
}

export type Pop3ListenerKind = 'pop3' | 'pop3s';

/** 127.0.0.0/8, ::1 and "localhost": listeners where plaintext auth is allowed unless configured otherwise. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || /^::ffff:127\./.test(h);
}

export class Pop3Server {
  private readonly ctx: ServerContext;
  private readonly servers: Server[] = [];
  private readonly sessions = new Set<Pop3Session>();
  private readonly running = new Set<Promise<void>>();
  private readonly perAddress = new Map<string, number>();
  private closing = false;

  constructor(options: Pop3ServerOptions) {
    const { config } = options;
    const now = options.now ?? Date.now;
    this.ctx = {
      hostname: options.hostname,
      directory: options.directory,
      store: options.store,
      logger: options.logger,
      config,
      now,
      throttle: new AuthThrottle({
        freeFailures: config.auth_free_failures,
        delayStepMs: config.auth_delay_step * 1000,
        maxDelayMs: config.auth_max_delay * 1000,
        lockoutAfter: config.auth_lockout_after,
        lockoutMs: config.auth_lockout_time * 1000,
        now,
      }),
      secureContext: options.tls ? createSecureContext({ key: options.tls.key, cert: options.tls.cert }) : null,
      timeoutMs: Math.max(1, Math.round(config.timeout * 1000)),
      maxCommandLine: config.max_command_line,
      lastLogin: new Map(),
      sessionCount: () => this.sessions.size,
    };
  }

  /** Open sessions right now. */
  get connections(): number {
    return this.sessions.size;
  }

  /** 'pop3' (plain, STLS offered) or 'pop3s' (implicit TLS). Returns the bound address. */
  async listen(kind: Pop3ListenerKind, address: { host: string; port: number }): Promise<AddressInfo> {
    if (kind === 'pop3s' && !this.ctx.secureContext) throw new Error('pop3s needs a TLS key and certificate');
    if (this.closing) throw new Error('server is closing');
    const insecureAuthAllowed = this.ctx.config.allow_insecure_auth ?? isLoopbackHost(address.host);
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket, { kind, insecureAuthAllowed }));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (error) => this.ctx.logger.error('pop3.listener_error', { error }));
    this.servers.push(server);
    const bound = server.address() as AddressInfo;
    this.ctx.logger.info('pop3.listening', { kind, address: bound.address, port: bound.port, insecureAuthAllowed });
    return bound;
  }

  /**
   * Stop accepting; let sessions finish for graceMs; then close the rest with "-ERR [SYS/TEMP] server shutting down".
   * A session closed this way never enters UPDATE (one already in UPDATE is allowed to finish it).
   */
  async close(graceMs = 10_000): Promise<void> {
    this.closing = true;
    const listenersClosed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    if (this.running.size > 0 && graceMs > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(this.running), new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))]);
      clearTimeout(timer);
    }
    for (const session of this.sessions) session.shutdown();
    if (this.running.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all(this.running), new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      for (const session of this.sessions) session.destroy();
      await Promise.all(this.running);
    }
    await listenersClosed;
  }

  private accept(socket: Socket, listener: { kind: Pop3ListenerKind; insecureAuthAllowed: boolean }): void {
    const remote = socket.remoteAddress ?? 'unknown';
    socket.on('error', () => {});
    if (this.closing) {
      socket.end(err('SYS/TEMP', 'server shutting down'));
      return;
    }
    if (this.sessions.size >= this.ctx.config.max_connections) {
      this.ctx.logger.warn('pop3.connection_limit', { remote, limit: this.ctx.config.max_connections });
      socket.end(err('SYS/TEMP', 'too many connections, try again later'));
      return;
    }
    const count = (this.perAddress.get(remote) ?? 0) + 1;
    if (count > this.ctx.config.max_connections_per_ip) {
      this.ctx.logger.info('pop3.too_many_connections', { remote });
      socket.end(err('SYS/TEMP', 'too many connections from your address'));
      return;
    }
    this.perAddress.set(remote, count);
    const session = new Pop3Session(this.ctx, socket, listener, remote);
    this.sessions.add(session);
    const run = session.run().finally(() => {
      this.sessions.delete(session);
      this.running.delete(run);
      const left = (this.perAddress.get(remote) ?? 1) - 1;
      if (left > 0) this.perAddress.set(remote, left);
      else this.perAddress.delete(remote);
    });
    this.running.add(run);
  }
}
