/** One-shot submission for the CLI: connect to the resolved target, one transaction, QUIT. */
import { SmtpConnection } from './smtp/connection.js';
import { SmtpConnectionError } from './smtp/channel.js';
import type { SmtpEnvelope } from './smtp/envelope.js';
import type { MessageSource, SendResult } from './smtp/transaction.js';
import type { SubmissionTarget } from './local.js';
import { redactUrl } from './url.js';

export function describeTarget(target: SubmissionTarget): string {
  return target.kind === 'url' ? redactUrl(target.url) : `local socket ${target.path}`;
}

/** Longest Unix socket path the kernel accepts (sun_path is 108 bytes on Linux, including the NUL). */
const MAX_SOCKET_PATH = 107;

export async function submitMessage(target: SubmissionTarget, envelope: SmtpEnvelope, message: MessageSource): Promise<SendResult> {
  if (target.kind === 'local' && Buffer.byteLength(target.path) > MAX_SOCKET_PATH) {
    throw new SmtpConnectionError(`the local socket path ${target.path} is longer than ${MAX_SOCKET_PATH} bytes (a Unix socket limit); use a shorter --data path or --smtp URL`, 'connect');
  }
  let connection: SmtpConnection;
  try {
    connection = await SmtpConnection.connect(target.options);
  } catch (error) {
    if (target.kind === 'local' && error instanceof SmtpConnectionError && error.reason === 'connect') {
      const code = (error.cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT' || code === 'ECONNREFUSED') {
        throw new SmtpConnectionError(
          `cannot reach the local Posthorn server at ${target.path} (${code}): is \`posthorn serve --data ${target.dataDir}\` running? ` +
            'Or give --smtp URL / set POSTHORN_SMTP_URL.',
          'connect',
          { cause: error.cause },
        );
      }
      if (code === 'EACCES') throw new SmtpConnectionError(`no permission to use ${target.path}: run as a user allowed to submit mail`, 'connect', { cause: error.cause });
    }
    throw error;
  }
  try {
    return await connection.send(envelope, message);
  } finally {
    await connection.quit();
  }
}
