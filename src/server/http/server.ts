/**
 * The HTTP server shared by the web viewer and the admin pages: node:http (or node:https on a TLS listener), one
 * Router per server, a principal decided before each handler, a capped body, JSON errors, security headers, and a
 * graceful close that also ends long-lived answers (event streams, waits, WebSockets).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../observability/log.js';
import type { Principal } from './auth/principal.js';
import { parseJson, queryObject, readBody, validationError, type RequestContext } from './context.js';
import { HttpError } from './errors.js';
import { BASE_HEADERS, sendError } from './respond.js';
import type { Router } from './router.js';

export type RouteHandler = (ctx: RequestContext) => Promise<void> | void;

export interface HttpLimits {
  /** Largest request body, octets. */
  maxBodySize: number;
  /** Time to receive the request headers, ms. */
  headersTimeoutMs: number;
  /** Time to receive the whole request, ms (long-lived answers are not limited by it). */
  requestTimeoutMs: number;
  /** Simultaneous connections. */
  maxConnections: number;
}

export const DEFAULT_HTTP_LIMITS: HttpLimits = {
  maxBodySize: 10 * 1024 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  maxConnections: 1000,
};

export interface HttpServerOptions {
  logger: Logger;
  router: Router<RouteHandler>;
  limits?: Partial<HttpLimits>;
  /** Serve HTTPS with this certificate. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Decides who is asking. Throw HttpError to refuse (401 for a bad token, 429 when throttled). */
  authenticate?: (req: IncomingMessage, clientAddress: string, secure: boolean) => Promise<Principal> | Principal;
  /** Answers requests no route matched (static files, the page shell); default 404. */
  fallback?: RouteHandler;
  /** WebSocket upgrades. */
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
}

export class HttpServer {
  private server: Server | null = null;
  private readonly limits: HttpLimits;
  private readonly sockets = new Set<Socket>();
  /** Closed at shutdown: event streams, waits, WebSockets register here. */
  private readonly closers = new Set<() => void>();

  constructor(private readonly options: HttpServerOptions) {
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...options.limits };
  }

  get secure(): boolean {
    return this.options.tls !== undefined;
  }

  /** Register something to end at close(); returns the unregister function. */
  onClose(closer: () => void): () => void {
    this.closers.add(closer);
    return () => this.closers.delete(closer);
  }

  async listen(address: { host: string; port: number }): Promise<AddressInfo> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res);
    const server = this.options.tls ? createHttpsServer({ key: this.options.tls.key, cert: this.options.tls.cert, minVersion: 'TLSv1.2' }, handler) : createHttpServer(handler);
    server.headersTimeout = this.limits.headersTimeoutMs;
    server.requestTimeout = this.limits.requestTimeoutMs;
    server.maxConnections = this.limits.maxConnections;
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
    if (this.options.upgrade) server.on('upgrade', this.options.upgrade);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.options.logger.error('http.listener_error', { error: err }));
    const bound = server.address() as AddressInfo;
    this.options.logger.info('http.listening', { address: bound, tls: this.secure });
    return bound;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    for (const [k, v] of Object.entries(BASE_HEADERS)) res.setHeader(k, v);
    const clientAddress = req.socket.remoteAddress ?? '';
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      sendError(res, new HttpError(400, 'malformed request target'));
      return;
    }
    const method = req.method ?? 'GET';
    const maxBody = this.limits.maxBodySize;
    let bodyPromise: Promise<Buffer> | null = null;
    const ctx: RequestContext = {
      req,
      res,
      method,
      url,
      params: {},
      clientAddress,
      secure: this.secure,
      principal: { kind: 'none' },
      body: (limit = maxBody) => (bodyPromise ??= readBody(req, Math.min(limit, maxBody))),
      json: async (schema, limit) => {
        const value = parseJson(await ctx.body(limit));
        const r = schema.safeParse(value);
        if (!r.success) throw validationError(r.error);
        return r.data;
      },
      query: (schema) => {
        const r = schema.safeParse(queryObject(url));
        if (!r.success) throw validationError(r.error);
        return r.data;
      },
    };
    try {
      const match = this.options.router.match(method, url.pathname);
      if (match.kind === 'method-not-allowed') {
        throw new HttpError(405, `method ${method} not allowed on ${url.pathname}`, undefined, { allow: match.allow.join(', ') });
      }
      if (this.options.authenticate) ctx.principal = await this.options.authenticate(req, clientAddress, this.secure);
      if (match.kind === 'found') {
        ctx.params = match.params;
        await match.route.handler(ctx);
      } else if (this.options.fallback) {
        await this.options.fallback(ctx);
      } else {
        throw new HttpError(404, 'not found');
      }
    } catch (err) {
      if (err instanceof HttpError) {
        sendError(res, err);
      } else {
        this.options.logger.error('http.handler_error', { method, path: url.pathname, error: err, stack: (err as Error)?.stack });
        sendError(res, new HttpError(500, 'internal error'));
      }
    }
    // A request whose body was not read must not leave its bytes on a kept-alive connection.
    if (!req.complete && !res.writableEnded) res.once('finish', () => req.socket.destroy());
    else if (!req.complete) req.resume();
    this.options.logger.debug('http.request', { method, path: url.pathname, status: res.statusCode, ms: Date.now() - started, client: clientAddress });
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const closer of [...this.closers]) closer();
    this.closers.clear();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const s of this.sockets) s.destroy();
    });
  }
}
