/**
 * RemoteTransport over the SMTP client (src/client/smtp): connect to the target's address, speak TLS to its host name,
 * EHLO, STARTTLS as the policy says, AUTH for the smarthost, then transactions with per-recipient results. The client
 * does the wire rules (CRLF only, dot-stuffing, no bare CR/LF, SIZE/8BITMIME/SMTPUTF8/DSN parameters).
 *
 * How client outcomes map to queue outcomes:
 *   - a refused MAIL FROM, SIZE over the server's limit, or a missing capability: SmtpError for the whole transaction
 *     (5xx fails every recipient, 4xx retries them);
 *   - every RCPT refused: each recipient gets its own reply;
 *   - refused after DATA: accepted recipients get that reply, refused ones their RCPT reply;
 *   - network trouble (refused, reset, timeout, TLS failure): an Error without a reply code, retried (next MX first).
 */
import { isIP } from 'node:net';
import type { Logger } from '../observability/log.js';
import { SmtpError } from '../protocol/smtp/error.js';
import { SmtpConnection, type SmtpClientOptions } from '../client/smtp/connection.js';
import { EnvelopeError } from '../client/smtp/envelope.js';
import { SmtpTransactionError, type RecipientResult } from '../client/smtp/transaction.js';
import type { ReplyInfo } from './record.js';
import type { DeliveryTarget, OutgoingMessage, RemoteSession, RemoteTransport, TransactionResult } from './transport.js';

export interface SmtpTransportOptions {
  logger: Logger;
  /** Extra trusted CA certificates (PEM) for verified TLS, e.g. a private smarthost's. */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Client timeouts in ms (defaults: the client's, RFC 5321 4.5.3.2 inspired). */
  timeouts?: SmtpClientOptions['timeouts'];
}

/** A transport-level failure with no SMTP reply (connection refused, reset, TLS...). */
export class TransportError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

function fromRecipient(r: RecipientResult): ReplyInfo {
  return { code: r.code, enhanced: r.enhancedCode, text: r.message };
}

/** Map the client's capability refusals (code 0) to the replies RFC 6152/6531/1870 imply. */
function capabilityError(err: SmtpTransactionError): SmtpError {
  if (err.stage === 'SIZE') return new SmtpError(552, '5.3.4', err.message);
  if (/SMTPUTF8/.test(err.message) && /address/.test(err.message)) return new SmtpError(553, '5.6.7', err.message);
  return new SmtpError(554, '5.6.3', err.message);
}

function networkError(err: unknown): TransportError {
  const e = err as { message?: string; reason?: string; code?: string };
  return new TransportError(e.message ?? String(err), e.reason ?? e.code ?? 'ENET', { cause: err });
}

class ClientSession implements RemoteSession {
  constructor(
    readonly target: DeliveryTarget,
    private readonly conn: SmtpConnection,
  ) {}

  get usable(): boolean {
    return !this.conn.closed;
  }

  async send(m: OutgoingMessage): Promise<TransactionResult> {
    const dsn = this.conn.extensions.has('DSN');
    try {
      const result = await this.conn.send(
        {
          from: m.mailFrom,
          to: m.recipients.map((r) => ({ address: r.address, ...(r.notify ? { notify: r.notify } : {}), ...(r.orcpt ? { orcpt: r.orcpt } : {}) })),
          ...(m.ret ? { dsnRet: m.ret } : {}),
          ...(m.envid !== undefined ? { envid: m.envid } : {}),
        },
        Buffer.isBuffer(m.body) ? m.body : m.body.open(),
        Buffer.isBuffer(m.body) ? {} : { size: m.body.size },
      );
      const final: ReplyInfo = { code: result.reply.code, enhanced: result.reply.enhancedCode, text: result.reply.lines.join(' ') };
      return { recipients: result.recipients.map((r) => (r.accepted ? final : fromRecipient(r))), dsn };
    } catch (err) {
      if (err instanceof SmtpTransactionError) {
        // A streamed 8-bit message meets a server without 8BITMIME only mid-DATA (the connection is then closed).
        if (err.code === 0 && (err.stage === 'CAPABILITY' || err.stage === 'SIZE' || /8-bit data/.test(err.message))) throw capabilityError(err);
        if (err.code === 0) throw networkError(err);
        if (err.stage === 'MAIL' || err.recipients.length !== m.recipients.length) throw new SmtpError(err.code, err.enhancedCode, err.message);
        const failure: ReplyInfo = { code: err.code, enhanced: err.enhancedCode, text: err.message };
        return { recipients: err.recipients.map((r) => (r.accepted ? failure : fromRecipient(r))), dsn };
      }
      if (err instanceof SmtpError && err.code >= 400) throw err;
      // An address the client will not put on the wire (control characters, over 256 octets) never becomes sendable.
      if (err instanceof EnvelopeError) throw new SmtpError(553, '5.1.3', `not sendable: ${err.message}`);
      throw networkError(err);
    }
  }

  async reset(): Promise<void> {
    if (!(await this.conn.reset())) throw new TransportError('RSET failed', 'reset');
  }

  async close(): Promise<void> {
    await this.conn.quit();
  }
}

export function createSmtpTransport(o: SmtpTransportOptions): RemoteTransport {
  return {
    async connect(target, heloName) {
      const options: SmtpClientOptions = {
        host: target.address,
        port: target.port,
        tls: target.tls === 'none' ? 'off' : target.tls,
        name: heloName,
        rejectUnauthorized: target.verifyCertificate,
        ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
        ...(o.ca ? { ca: o.ca } : {}),
        ...(o.timeouts ? { timeouts: o.timeouts } : {}),
      };
      if (target.auth) options.auth = { user: target.auth.user, pass: target.auth.pass, ...(target.auth.mechanism ? { method: target.auth.mechanism } : {}) };
      let conn: SmtpConnection;
      try {
        conn = await SmtpConnection.connect(options);
      } catch (err) {
        if (err instanceof SmtpError && err.code >= 400) throw err;
        throw networkError(err);
      }
      o.logger.debug('delivery.connected', { host: target.host, address: target.address, port: target.port, tls: conn.secure, auth: conn.authenticatedWith });
      return new ClientSession(target, conn);
    },
  };
}
