/**
 * The one error type of the HTTP layer. A handler throws HttpError(status, message[, field]); the server answers it as
 * JSON {"Error": message, "Field": field} with that status (the Mailpit API's JSON error shape, with the field added).
 * Anything else thrown is logged and answered 500 without detail.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** The input that was wrong (query parameter, JSON path, header), for 400s. */
    readonly field?: string,
    /** Extra response headers (Allow, Retry-After, WWW-Authenticate). */
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const badRequest = (message: string, field?: string) => new HttpError(400, message, field);
export const notFound = (message = 'not found') => new HttpError(404, message);
export const forbidden = (message = 'forbidden') => new HttpError(403, message);
export const unauthorized = (message = 'authentication required') => new HttpError(401, message, undefined, { 'www-authenticate': 'Bearer realm="posthorn"' });
