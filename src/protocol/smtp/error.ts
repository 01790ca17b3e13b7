/** One error type for SMTP, shared by the server (what to reply) and the client (what the server replied). */
export class SmtpError extends Error {
  constructor(
    readonly code: number,
    readonly enhancedCode: string | null,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SmtpError';
  }
  /** 4xx: the same command may succeed later. */
  get temporary(): boolean {
    return this.code >= 400 && this.code < 500;
  }
  get permanent(): boolean {
    return this.code >= 500;
  }
  /** The reply as sent on the wire, without the final CRLF ("550 5.1.1 No such user"). */
  toReply(): string {
    return `${this.code} ${this.enhancedCode ? this.enhancedCode + ' ' : ''}${this.message}`;
  }
}
