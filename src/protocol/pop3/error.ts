/**
 * One error type for POP3: the -ERR line a server sends (optional RFC 2449 / RFC 3206 response code and a client-safe
 * text), shared by server and client. Internal detail belongs in the log, never in the message.
 */
export type Pop3ResponseCode = 'IN-USE' | 'LOGIN-DELAY' | 'AUTH' | 'SYS/TEMP' | 'SYS/PERM' | 'UTF8';

export class Pop3Error extends Error {
  constructor(
    readonly code: Pop3ResponseCode | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'Pop3Error';
  }
  /** The response line without CRLF: "-ERR [IN-USE] maildrop already locked". */
  toResponse(): string {
    return `-ERR ${this.code ? `[${this.code}] ` : ''}${this.message}`;
  }
  /** Parse a server's -ERR line (for the client side); null when the line is not an -ERR response. */
  static fromResponse(line: string): Pop3Error | null {
    const m = /^-ERR(?: (?:\[([A-Za-z0-9/-]+)\] ?)?(.*))?$/.exec(line);
    if (!m) return null;
    return new Pop3Error((m[1]?.toUpperCase() as Pop3ResponseCode | undefined) ?? null, m[2] ?? '');
  }
}
