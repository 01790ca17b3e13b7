/** Writing responses: JSON, text, errors, and the security headers every response carries. */
import type { ServerResponse } from 'node:http';
import { HttpError } from './errors.js';

/** Sent with every response. Pages add their own Content-Security-Policy (shell.ts); API answers get a strict one. */
export const BASE_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
};

export const API_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'content-security-policy': API_CSP,
    ...headers,
  });
  res.end(res.req?.method === 'HEAD' ? undefined : text);
}

export function sendText(res: ServerResponse, status: number, text: string | Buffer, contentType = 'text/plain; charset=utf-8', headers: Record<string, string> = {}): void {
  const body = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': body.length,
    'cache-control': 'no-store',
    'content-security-policy': API_CSP,
    ...headers,
  });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/** The Mailpit API answers "ok" as plain text for state changes; so do we. */
export function sendOk(res: ServerResponse): void {
  sendText(res, 200, 'ok');
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body: Record<string, unknown> = { Error: err.message };
  if (err.field) body.Field = err.field;
  sendJson(res, err.status, body, err.headers);
}
