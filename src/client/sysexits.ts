/** sysexits(3) codes used by `posthorn sendmail` and `posthorn send`, and the mapping from client errors to them. */
import { SmtpError } from '../protocol/smtp/error.js';
import { SmtpAuthError } from './smtp/auth.js';
import { SmtpConnectionError } from './smtp/channel.js';
import { EnvelopeError } from './smtp/envelope.js';
import { SmtpTransactionError } from './smtp/transaction.js';
import { SmtpUrlError } from './url.js';
import { MailArgumentError } from './mail.js';

export const EX = {
  OK: 0,
  USAGE: 64,
  DATAERR: 65,
  NOINPUT: 66,
  NOUSER: 67,
  NOHOST: 68,
  UNAVAILABLE: 69,
  SOFTWARE: 70,
  IOERR: 74,
  TEMPFAIL: 75,
  PROTOCOL: 76,
  NOPERM: 77,
  CONFIG: 78,
} as const;

/** Exit code and one-line explanation for an error from submitting a message. */
export function exitCodeFor(error: unknown): { code: number; message: string } {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof SmtpUrlError || error instanceof EnvelopeError || error instanceof MailArgumentError) return { code: EX.USAGE, message };
  if (error instanceof SmtpAuthError) return { code: error.code >= 400 && error.code < 500 ? EX.TEMPFAIL : EX.NOPERM, message };
  if (error instanceof SmtpConnectionError) {
    if (error.reason === 'protocol') return { code: EX.PROTOCOL, message };
    if (error.reason === 'tls') return { code: EX.UNAVAILABLE, message };
    const cause = error.cause as NodeJS.ErrnoException | undefined;
    if (cause?.code === 'ENOTFOUND') return { code: EX.NOHOST, message };
    return { code: EX.TEMPFAIL, message };
  }
  if (error instanceof SmtpTransactionError) {
    if (error.code === 0) return { code: error.stage === 'SIZE' || error.stage === 'CAPABILITY' ? EX.DATAERR : EX.SOFTWARE, message };
    if (error.temporary) return { code: EX.TEMPFAIL, message };
    if (error.stage === 'RCPT' && (error.enhancedCode?.startsWith('5.1.') || error.code === 550 || error.code === 551 || error.code === 553)) return { code: EX.NOUSER, message };
    if (error.stage === 'DATA' && (error.code === 552 || error.code === 554)) return { code: EX.DATAERR, message };
    return { code: EX.UNAVAILABLE, message };
  }
  if (error instanceof SmtpError) return { code: error.temporary || error.code === 0 ? EX.TEMPFAIL : EX.UNAVAILABLE, message };
  return { code: EX.SOFTWARE, message };
}
