/**
 * The HTTP listener. Until the web admin lands it serves health and status only:
 *   GET /healthz      -> 200 "ok"
 *   GET /api/status   -> JSON: version, hostname, uptime, listeners, domain and user counts
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StatusSource {
  status(): Record<string, unknown>;
}

export class HttpServer {
  private server: Server | null = null;
  constructor(private readonly source: StatusSource) {}

  async listen(address: { host: string; port: number }): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      const url = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      } else if (url === '/healthz') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      } else if (url === '/api/status') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.source.status()) + '\n');
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      }
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => resolve());
    });
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
