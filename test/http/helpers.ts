/** Starting a ViewerServer on 127.0.0.1 port 0 for tests, with an in-memory directory. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { httpSection, type HttpConfig } from '../../src/config/schema.js';
import { MemoryDirectory } from '../../src/directory/memory.js';
import { silentLogger } from '../../src/observability/log.js';
import { AuthThrottle } from '../../src/server/auth-throttle.js';
import { ViewerServer } from '../../src/server/http/viewer.js';

export interface ViewerFixture {
  url: string;
  port: number;
  viewer: ViewerServer;
  directory: MemoryDirectory;
  dataDir: string;
  throttle: AuthThrottle;
  close(): Promise<void>;
}

export async function startViewer(options: { dev?: boolean; http?: Partial<HttpConfig>; dataDir?: string; throttle?: AuthThrottle } = {}): Promise<ViewerFixture> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'posthorn-http-'));
  const directory = new MemoryDirectory().addDomain('example.com').addUser('alice@example.com', 'alice password').addUser('bob@example.com', 'bob password');
  const throttle = options.throttle ?? new AuthThrottle({ delayStepMs: 0, maxDelayMs: 0, lockoutAfter: 5 });
  const viewer = new ViewerServer({
    dataDir,
    config: httpSection.parse(options.http ?? {}),
    listenHost: '127.0.0.1',
    dev: options.dev ?? false,
    logger: silentLogger,
    throttle,
    verifyPassword: (u, p) => directory.authenticate(u, p),
    status: () => ({ name: 'posthorn' }),
  });
  const bound = await viewer.listen({ host: '127.0.0.1', port: 0 });
  const url = `http://127.0.0.1:${bound.port}`;
  return { url, port: bound.port, viewer, directory, dataDir, throttle, close: () => viewer.close() };
}

/** Log in through the API like the web page does; returns the cookie header and the CSRF token. */
export async function login(url: string, username: string, password: string): Promise<{ cookie: string; csrf: string; setCookie: string }> {
  const res = await fetch(`${url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (res.status !== 200) throw new Error(`login answered ${res.status}: ${await res.text()}`);
  const setCookie = res.headers.get('set-cookie') ?? '';
  const body = (await res.json()) as { csrf: string };
  return { cookie: setCookie.split(';')[0], csrf: body.csrf, setCookie };
}
