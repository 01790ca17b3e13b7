/** The one error type of the MIME library. `code` is stable and meant for programs; `message` is for people. */
export type MimeErrorCode =
  | 'HEADER_INJECTION'
  | 'INVALID_ADDRESS'
  | 'INVALID_OPTION'
  | 'LIMIT_EXCEEDED'
  | 'UNSUPPORTED_CHARSET'
  | 'INPUT_ERROR';

export class MimeError extends Error {
  readonly code: MimeErrorCode;
  constructor(code: MimeErrorCode, message: string) {
    super(message);
    this.name = 'MimeError';
    this.code = code;
  }
}
