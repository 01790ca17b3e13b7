/** Test peers for the client tests: nodemailer's smtp-server as a real receiving server, and a raw scripted server. */
import net from 'node:net';
import { once } from 'node:events';
import { SMTPServer, type SMTPServerOptions, type SMTPServerEnvelope } from 'smtp-server';
import { readFileSync } from 'node:fs';

/**
 * A self-signed certificate for "localhost" and 127.0.0.1, valid until 2125, made once with selfsigned and kept in
 * test/client/fixtures (generating an RSA key per test process costs seconds on a loaded machine). Test use only.
 */
export async function certificate(): Promise<{ key: string; cert: string }> {
  const dir = new URL('./fixtures/', import.meta.url);
  return { key: readFileSync(new URL('localhost.key.pem', dir), 'utf8'), cert: readFileSync(new URL('localhost.cert.pem', dir), 'utf8') };
}

export interface Received {
  envelope: SMTPServerEnvelope;
  raw: Buffer;
  user?: string;
}

export interface RealServer {
  port: number;
  received: Received[];
  close(): Promise<void>;
}

/** smtp-server on 127.0.0.1:0, collecting every message; `rcpt` may refuse addresses. */
export async function startSmtpServer(
  options: SMTPServerOptions & { refuse?: (address: string) => string | null; users?: Record<string, string> },
): Promise<RealServer> {
  const received: Received[] = [];
  const users = options.users ?? { alice: 'secret' };
  const server = new SMTPServer({
    disabledCommands: [],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    ...options,
    onAuth(auth, _session, callback) {
      if (auth.method === 'XOAUTH2') {
        return auth.accessToken === 'token-123' && auth.username === 'alice'
          ? callback(null, { user: 'alice' })
          : callback(null, { data: { status: '401', schemes: 'bearer' } });
      }
      const password = users[auth.username ?? ''];
      const ok = password !== undefined && (auth.method === 'CRAM-MD5' ? auth.validatePassword(password) : auth.password === password);
      if (!ok) return callback(new Error('Invalid username or password'));
      callback(null, { user: auth.username });
    },
    onRcptTo(address, _session, callback) {
      const reason = options.refuse?.(address.address) ?? null;
      if (reason) {
        const error = new Error(reason) as Error & { responseCode: number };
        error.responseCode = 550;
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ envelope: JSON.parse(JSON.stringify(session.envelope)), raw: Buffer.concat(chunks), user: session.user as string | undefined });
        callback(null);
      });
    },
  });
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const port = (server.server.address() as net.AddressInfo).port;
  return { port, received, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface ScriptedServer {
  port: number;
  /** Every byte the client sent, per connection. */
  wire: Buffer[][];
  close(): Promise<void>;
}

/**
 * A raw server driven by `onLine`: it receives each client line (without CRLF) and returns what to send back
 * (string, Buffer, or null for nothing). While in DATA, lines are recorded and no reply is sent until ".".
 */
export async function startScriptedServer(script: {
  greeting?: string | Buffer;
  onLine: (line: string, state: { inData: boolean }) => string | Buffer | null | 'close';
}): Promise<ScriptedServer> {
  const wire: Buffer[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const log: Buffer[] = [];
    wire.push(log);
    let pending = Buffer.alloc(0);
    const state = { inData: false };
    socket.write(script.greeting ?? '220 scripted ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      log.push(chunk);
      pending = Buffer.concat([pending, chunk]);
      let lf: number;
      while ((lf = pending.indexOf(0x0a)) !== -1) {
        const line = pending.subarray(0, lf).toString('latin1').replace(/\r$/, '');
        pending = pending.subarray(lf + 1);
        if (state.inData) {
          if (line === '.') {
            state.inData = false;
            const out = script.onLine('.', { inData: true });
            if (out === 'close') socket.destroy();
            else if (out !== null) socket.write(out);
          }
          continue;
        }
        const out = script.onLine(line, state);
        if (out === 'close') {
          socket.destroy();
          return;
        }
        if (out !== null) socket.write(out);
        if (/^DATA$/i.test(line) && typeof out === 'string' && out.startsWith('354')) state.inData = true;
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as net.AddressInfo).port,
    wire,
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A scripted server that behaves like a normal ESMTP server with the given EHLO extensions. */
export function ordinaryScript(extensions: string[] = ['PIPELINING', '8BITMIME']) {
  return (line: string): string | null => {
    const verb = line.split(' ')[0].toUpperCase();
    switch (verb) {
      case 'EHLO':
        return ['scripted', ...extensions].map((e, i, a) => `250${i === a.length - 1 ? ' ' : '-'}${e}\r\n`).join('');
      case 'HELO':
      case 'MAIL':
      case 'RCPT':
      case 'RSET':
      case 'NOOP':
        return '250 OK\r\n';
      case 'DATA':
        return '354 go ahead\r\n';
      case '.':
        return '250 2.0.0 queued\r\n';
      case 'QUIT':
        return '221 bye\r\n';
      default:
        return '502 unknown\r\n';
    }
  };
}
