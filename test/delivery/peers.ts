/** nodemailer's smtp-server as the remote MX servers and smarthosts of the delivery tests. */
import { SMTPServer, type SMTPServerOptions, type SMTPServerSession } from 'smtp-server';
import { createSelfSigned } from '../../src/server/tls.js';

export interface Received {
  from: string;
  to: string[];
  body: string;
  secure: boolean;
  user?: string;
  dsn?: unknown;
}

export type RcptPolicy = (rcpt: string, session: SMTPServerSession) => { code: number; message: string } | null;

export interface PeerOptions {
  /** Per-recipient refusals (4xx defers, 5xx rejects). */
  rcpt?: RcptPolicy;
  /** Close the connection once this many bytes of DATA arrived (mid-DATA drop), while it returns true. */
  dropDuringData?: () => boolean;
  /** Offer STARTTLS with this certificate. */
  tls?: { key: string; cert: string };
  /** Refuse MAIL FROM with 530 before STARTTLS. */
  requireTls?: boolean;
  /** Require AUTH with these mechanisms and credentials. */
  auth?: { methods: string[]; user: string; pass: string };
  dsn?: boolean;
  /** TLS from the first byte (smtps) with the `tls` certificate. */
  implicitTls?: boolean;
  /** Wait this long before answering the end of DATA (a slow remote). */
  dataDelayMs?: number;
}

export class Peer {
  readonly received: Received[] = [];
  readonly sessions: string[] = [];
  transactions = 0;
  /** RCPT commands seen (accepted or not). */
  rcptAttempts = 0;
  port = 0;
  private server: SMTPServer;

  constructor(private readonly o: PeerOptions = {}) {
    const options: SMTPServerOptions = {
      logger: false,
      disableReverseLookup: true,
      hideDSN: !o.dsn,
      ...(o.tls ? { key: o.tls.key, cert: o.tls.cert, secure: o.implicitTls === true } : { hideSTARTTLS: true }),
      ...(o.auth ? { authMethods: o.auth.methods, allowInsecureAuth: true } : { authOptional: true }),
      onConnect: (session, cb) => {
        this.sessions.push(session.id);
        cb();
      },
      onAuth: (auth, _session, cb) => {
        const ok =
          o.auth !== undefined &&
          auth.username === o.auth.user &&
          (auth.method === 'CRAM-MD5' ? auth.validatePassword(o.auth.pass) : auth.password === o.auth.pass);
        if (ok) cb(null, { user: `${auth.username} via ${auth.method}` });
        else cb(Object.assign(new Error('Invalid credentials'), { responseCode: 535 }));
      },
      onMailFrom: (_address, session, cb) => {
        if (o.requireTls && !session.secure) return cb(Object.assign(new Error('Must issue a STARTTLS command first'), { responseCode: 530 }));
        cb();
      },
      onRcptTo: (address, session, cb) => {
        this.rcptAttempts++;
        const refusal = o.rcpt?.(address.address, session);
        if (refusal) return cb(Object.assign(new Error(refusal.message), { responseCode: refusal.code }));
        cb();
      },
      onData: (stream, session, cb) => {
        this.transactions++;
        const chunks: Buffer[] = [];
        let dropped = false;
        stream.on('data', (c: Buffer) => {
          chunks.push(c);
          if (!dropped && o.dropDuringData?.()) {
            dropped = true;
            for (const conn of (this.server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections) {
              if (conn.id === session.id) conn._socket.destroy();
            }
          }
        });
        stream.on('end', () => {
          if (dropped) return;
          this.received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            body: Buffer.concat(chunks).toString(),
            secure: session.secure,
            ...(session.user ? { user: session.user } : {}),
            dsn: (session.envelope as unknown as { dsn?: unknown }).dsn,
          });
          if (o.dataDelayMs) setTimeout(() => cb(null, 'Message queued'), o.dataDelayMs);
          else cb(null, 'Message queued');
        });
      },
    };
    this.server = new SMTPServer(options);
    this.server.on('error', () => {});
  }

  async start(host = '127.0.0.1'): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, host, () => resolve()));
    this.port = (this.server.server.address() as { port: number }).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const conn of (this.server as unknown as { connections: Set<{ _socket: { destroy(): void } }> }).connections) conn._socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

let certCache: Promise<{ key: string; cert: string }> | null = null;
/** A self-signed certificate for mx.secure.test (and localhost, 127.0.0.1). */
export function testCertificate(): Promise<{ key: string; cert: string }> {
  certCache ??= createSelfSigned('mx.secure.test');
  return certCache;
}
