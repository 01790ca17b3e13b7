/**
 * Where the CLI and mail() submit when no SMTP URL is given: the local Posthorn server's Unix socket in its data
 * directory (file permissions guard it, as Postfix's maildrop directory does; sessions on it count as authenticated
 * submission). Resolution order: explicit URL, POSTHORN_SMTP_URL, then the socket of --data / POSTHORN_DATA / ./data.
 */
import path from 'node:path';
import type { SmtpClientOptions } from './smtp/connection.js';
import { parseSmtpUrl, type ParsedSmtpUrl } from './url.js';

/** File name of the local submission socket inside the data directory. */
export const LOCAL_SOCKET_NAME = 'posthorn.sock';

/** The local submission socket of a data directory (absolute). */
export function localSocketPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), LOCAL_SOCKET_NAME);
}

export type SubmissionTarget =
  | { kind: 'url'; url: string; source: 'option' | 'environment'; options: ParsedSmtpUrl }
  | { kind: 'local'; path: string; dataDir: string; options: SmtpClientOptions };

export interface SubmissionChoice {
  /** --smtp URL */
  smtp?: string;
  /** --data DIR */
  data?: string;
  env?: NodeJS.ProcessEnv;
}

export function resolveSubmission(choice: SubmissionChoice = {}): SubmissionTarget {
  const env = choice.env ?? process.env;
  if (choice.smtp) return { kind: 'url', url: choice.smtp, source: 'option', options: parseSmtpUrl(choice.smtp) };
  const fromEnv = env.POSTHORN_SMTP_URL;
  if (fromEnv) return { kind: 'url', url: fromEnv, source: 'environment', options: parseSmtpUrl(fromEnv) };
  const dataDir = choice.data ?? env.POSTHORN_DATA ?? './data';
  const socketPath = localSocketPath(dataDir);
  return { kind: 'local', path: socketPath, dataDir, options: { path: socketPath, tls: 'off', name: 'localhost' } };
}
