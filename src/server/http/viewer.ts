/**
 * The viewer's HTTP server on listeners.http: health and status, login, the Mailpit-compatible API and the web
 * interface. Assembled from the shared parts (server, router, auth) so the admin listener can be built the same way.
 *
 *   GET /healthz      -> 200 "ok"
 *   GET /api/status   -> JSON: version, hostname, uptime, listeners, domain and user counts
 */
import type Database from 'better-sqlite3';
import type { HttpConfig } from '../../config/schema.js';
import type { Logger } from '../../observability/log.js';
import type { AuthThrottle } from '../auth-throttle.js';
import { openAccessDb } from './auth/access-db.js';
import { createAuthenticator } from './auth/authenticate.js';
import { addLoginRoutes } from './auth/login-routes.js';
import { SessionStore } from './auth/sessions.js';
import { TokenStore } from './auth/tokens.js';
import { VIEWER_COOKIE, VIEWER_SESSION_KIND, VIEWER_TOKEN_KIND } from './mail/access.js';
import { isLoopbackAddress } from './net.js';
import { sendJson, sendText } from './respond.js';
import { Router } from './router.js';
import { HttpServer, type RouteHandler } from './server.js';

export interface ViewerServerOptions {
  dataDir: string;
  config: HttpConfig;
  /** The host the listener binds (decides whether login may be skipped). */
  listenHost: string;
  /** Developer mode is on. */
  dev: boolean;
  logger: Logger;
  throttle: AuthThrottle;
  /** Check mail credentials; resolves with the canonical user or null. */
  verifyPassword: (username: string, password: string) => Promise<string | null>;
  status: () => Record<string, unknown>;
  tls?: { key: string | Buffer; cert: string | Buffer };
  now?: () => number;
}

export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** Whether requests without credentials are let in (developer mode on loopback, or auth = "none" on loopback). */
export function loginRequired(config: HttpConfig, dev: boolean, listenHost: string): boolean {
  const loopback = isLoopbackAddress(listenHost);
  if (config.auth === 'none') {
    if (!loopback) throw new ConfigurationError(`http.auth = "none" needs a loopback listener; listeners.http binds ${listenHost}`);
    return false;
  }
  if (config.auth === 'required') return true;
  return !(dev && loopback);
}

export class ViewerServer {
  readonly http: HttpServer;
  readonly router = new Router<RouteHandler>();
  readonly tokens: TokenStore;
  readonly sessions: SessionStore;
  readonly open: boolean;
  private readonly db: Database.Database;

  constructor(readonly options: ViewerServerOptions) {
    const { config } = options;
    this.open = !loginRequired(config, options.dev, options.listenHost);
    this.db = openAccessDb(options.dataDir);
    this.tokens = new TokenStore(this.db, options.now);
    this.sessions = new SessionStore(this.db, { idleMs: config.session_idle_timeout * 1000, maxAgeMs: config.session_max_age * 1000 }, options.now);
    const authenticate = createAuthenticator({
      tokens: this.tokens,
      tokenKind: VIEWER_TOKEN_KIND,
      sessions: this.sessions,
      sessionKind: VIEWER_SESSION_KIND,
      cookieName: VIEWER_COOKIE,
      open: this.open,
      verifyPassword: options.verifyPassword,
      throttle: options.throttle,
      allowedOrigins: config.allowed_origins.map((o) => o.toLowerCase()),
    });
    this.router.get('/healthz', (ctx) => sendText(ctx.res, 200, 'ok\n'));
    this.router.get('/api/status', (ctx) => sendJson(ctx.res, 200, options.status()));
    addLoginRoutes(this.router, {
      prefix: '/api/v1',
      sessions: this.sessions,
      sessionKind: VIEWER_SESSION_KIND,
      cookieName: VIEWER_COOKIE,
      verifyPassword: options.verifyPassword,
      throttle: options.throttle,
      maxAgeSeconds: config.session_max_age,
      logger: options.logger,
      mode: this.open ? 'open' : 'login',
    });
    this.http = new HttpServer({
      logger: options.logger,
      router: this.router,
      tls: config.tls ? options.tls : undefined,
      limits: { maxBodySize: config.max_body_size, maxConnections: config.max_connections },
      authenticate,
    });
  }

  listen(address: { host: string; port: number }) {
    return this.http.listen(address);
  }

  async close(): Promise<void> {
    await this.http.close();
    this.db.close();
  }
}
