/**
 * RemoteTransport over the SMTP client (src/client/smtp). Until that client is committed this adapter refuses to
 * connect (temporary failure), so mail stays queued rather than being lost.
 */
import type { Logger } from '../observability/log.js';
import { SmtpError } from '../protocol/smtp/error.js';
import type { RemoteTransport } from './transport.js';

export function createSmtpTransport(_o: { logger: Logger }): RemoteTransport {
  return {
    async connect() {
      throw new SmtpError(451, '4.3.0', 'no SMTP client available in this build');
    },
  };
}
