import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { runCli } from '../support/cli.js';
import { login, startViewer } from './helpers.js';

/** A raw request, for headers fetch() will not let us set (Host, Origin). */
function raw(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('health, status, JSON 404 and 405 with Allow, security headers', async () => {
  const f = await startViewer();
  try {
    const health = await fetch(`${f.url}/healthz`);
    assert.equal(await health.text(), 'ok\n');
    assert.equal(health.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(health.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(((await (await fetch(`${f.url}/api/status`)).json()) as { name: string }).name, 'posthorn');
    const missing = await fetch(`${f.url}/api/v1/nothing-here`);
    assert.equal(missing.status, 404);
    assert.deepEqual(await missing.json(), { Error: 'not found' });
    const wrong = await fetch(`${f.url}/healthz`, { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
  } finally {
    await f.close();
  }
});

test('login: HttpOnly SameSite=Strict cookie, session endpoint, logout needs CSRF; bad password 401; JSON only', async () => {
  const f = await startViewer();
  try {
    const bad = await fetch(`${f.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice@example.com', password: 'wrong' }) });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('set-cookie'), null);
    const form = await fetch(`${f.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'username=alice@example.com&password=alice+password' });
    assert.equal(form.status, 415);
    const missing = await fetch(`${f.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice@example.com' }) });
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as { Field: string }).Field, 'password');

    const s = await login(f.url, 'Alice@Example.com', 'alice password');
    assert.match(s.setCookie, /^posthorn_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    assert.doesNotMatch(s.setCookie, /Secure/, 'no Secure flag over plain HTTP');
    const who = (await (await fetch(`${f.url}/api/v1/session`, { headers: { cookie: s.cookie } })).json()) as { user: string; csrf: string; via: string };
    assert.deepEqual([who.user, who.csrf, who.via], ['alice@example.com', s.csrf, 'session']);

    const noCsrf = await fetch(`${f.url}/api/v1/logout`, { method: 'POST', headers: { cookie: s.cookie } });
    assert.equal(noCsrf.status, 403);
    assert.equal(((await noCsrf.json()) as { Field: string }).Field, 'x-csrf-token');
    const wrongCsrf = await fetch(`${f.url}/api/v1/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': 'x'.repeat(32) } });
    assert.equal(wrongCsrf.status, 403);
    const out = await fetch(`${f.url}/api/v1/logout`, { method: 'POST', headers: { cookie: s.cookie, 'x-csrf-token': s.csrf } });
    assert.equal(out.status, 200);
    const after = (await (await fetch(`${f.url}/api/v1/session`, { headers: { cookie: s.cookie } })).json()) as { user: string | null };
    assert.equal(after.user, null, 'the session is gone after logout');
  } finally {
    await f.close();
  }
});

test('state changes from another origin are refused before anything else (CSRF), same origin passes', async () => {
  const f = await startViewer();
  try {
    const s = await login(f.url, 'alice@example.com', 'alice password');
    const evil = await raw(f.port, 'POST', '/api/v1/logout', { cookie: s.cookie, 'x-csrf-token': s.csrf, origin: 'http://evil.example', host: `127.0.0.1:${f.port}` });
    assert.equal(evil.status, 403);
    assert.match(evil.body, /cross-origin/);
    const crossLogin = await raw(f.port, 'POST', '/api/v1/login', { 'content-type': 'application/json', origin: 'http://evil.example', host: `127.0.0.1:${f.port}` }, JSON.stringify({ username: 'alice@example.com', password: 'alice password' }));
    assert.equal(crossLogin.status, 403, 'login CSRF refused');
    const own = await raw(f.port, 'POST', '/api/v1/logout', { cookie: s.cookie, 'x-csrf-token': s.csrf, origin: `http://127.0.0.1:${f.port}`, host: `127.0.0.1:${f.port}` });
    assert.equal(own.status, 200);
  } finally {
    await f.close();
  }
});

test('login throttling: failures lock the account out with 429 and Retry-After, shared with the throttle SMTP uses', async () => {
  const f = await startViewer();
  try {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${f.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob@example.com', password: `guess ${i}` }) });
      assert.equal(r.status, 401);
    }
    const locked = await fetch(`${f.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'bob@example.com', password: 'bob password' }) });
    assert.equal(locked.status, 429, 'even the right password waits out the lockout');
    assert.ok(Number(locked.headers.get('retry-after')) > 0);
    // The same AuthThrottle object is what an SMTP AUTH would consult.
    assert.equal(f.throttle.check('127.0.0.1', 'bob@example.com').allowed, false);
  } finally {
    await f.close();
  }
});

test('tokens: created by the CLI with the server stopped, stored hashed, read scope, expiry, revoke works at once', async () => {
  const f = await startViewer();
  await f.close();
  const created = await runCli(['token', 'create', 'alice@example.com', '--dev', '--scope', 'read', '--expires', '30d', '--label', 'ci', '--data', f.dataDir]);
  assert.equal(created.code, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, /^ph_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
  assert.match(created.stderr, /scope read, expires 20\d\d-/);
  const id = token.slice(3, 15);

  const listed = await runCli(['token', 'list', '--json', '--data', f.dataDir]);
  const list = JSON.parse(listed.stdout) as Array<{ id: string; subject: string; scope: string; label: string; expiresAt: number }>;
  assert.equal(list.length, 1);
  assert.equal(list[0].id, id);
  assert.equal(list[0].subject, 'alice@example.com');
  assert.ok(Math.abs(list[0].expiresAt - (Date.now() + 30 * 86400_000)) < 60_000);
  assert.ok(!listed.stdout.includes(token.slice(16)), 'the secret is not listed');
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(`${f.dataDir}/access.db`, { readonly: true });
  const rows = JSON.stringify(db.prepare('SELECT * FROM tokens').all());
  db.close();
  assert.ok(!rows.includes(token.slice(16)), 'the database holds no secret');

  const again = await startViewer({ dataDir: f.dataDir });
  try {
    const who = (await (await fetch(`${again.url}/api/v1/session`, { headers: { authorization: `Bearer ${token}` } })).json()) as { user: string; via: string };
    assert.deepEqual([who.user, who.via], ['alice@example.com', 'token']);
    const basic = (await (await fetch(`${again.url}/api/v1/session`, { headers: { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` } })).json()) as { via: string };
    assert.equal(basic.via, 'token', 'Basic with the token as password works for clients that only know Basic');
    const forged = await fetch(`${again.url}/api/v1/session`, { headers: { authorization: `Bearer ${token.slice(0, -2)}xx` } });
    assert.equal(forged.status, 401);

    const revoked = await runCli(['token', 'revoke', id, '--data', f.dataDir]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const gone = await fetch(`${again.url}/api/v1/session`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(gone.status, 401, 'revoked while the server runs: refused at once');
    assert.equal((await runCli(['token', 'revoke', id, '--data', f.dataDir])).code, 1);
  } finally {
    await again.close();
  }
});

test('token CLI: bad scope, bad duration, unknown user are one-line errors', async () => {
  const f = await startViewer();
  await f.close();
  const scope = await runCli(['token', 'create', 'alice@example.com', '--scope', 'admin', '--data', f.dataDir]);
  assert.equal(scope.code, 64);
  assert.match(scope.stderr, /^posthorn: --scope admin: expected read or write\n$/);
  const dur = await runCli(['token', 'create', 'alice@example.com', '--expires', 'soon', '--data', f.dataDir]);
  assert.equal(dur.code, 64);
  assert.match(dur.stderr, /--expires: "soon" is not a duration/);
  const unknown = await runCli(['token', 'create', 'nobody@example.com', '--data', f.dataDir]);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no user nobody@example.com/);
});

test('developer mode on loopback without login: open, but only to loopback host names (DNS rebinding refused)', async () => {
  const f = await startViewer({ dev: true });
  try {
    const who = (await (await fetch(`${f.url}/api/v1/session`)).json()) as { mode: string; via: string };
    assert.deepEqual([who.mode, who.via], ['open', 'open']);
    const rebound = await raw(f.port, 'GET', '/api/v1/session', { host: `attacker.example:${f.port}` });
    assert.equal(rebound.status, 403);
    const localhost = await raw(f.port, 'GET', '/api/v1/session', { host: `localhost:${f.port}` });
    assert.equal(localhost.status, 200);
  } finally {
    await f.close();
  }
});

test('request bodies are capped: 413 from Content-Length, and from a chunked body that grows too large', async () => {
  const f = await startViewer({ http: { max_body_size: 1024 } });
  try {
    const big = await fetch(`${f.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'a', password: 'x'.repeat(5000) }) });
    assert.equal(big.status, 413);
    const chunks = async function* () {
      for (let i = 0; i < 10; i++) yield new TextEncoder().encode('x'.repeat(500));
    };
    const streamed = await fetch(`${f.url}/api/v1/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: ReadableStream.from(chunks()), duplex: 'half' } as RequestInit);
    assert.equal(streamed.status, 413);
  } finally {
    await f.close();
  }
});
