/**
 * One request as handlers see it: the parsed URL, route parameters, the principal, and helpers to read the body
 * (capped) and validate input with zod (a failure is 400 naming the field).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { HttpError } from './errors.js';
import type { Principal } from './auth/principal.js';

export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly url: URL;
  params: Record<string, string>;
  /** Client IP address (the socket's; proxies are not trusted). */
  readonly clientAddress: string;
  /** The connection is TLS. */
  readonly secure: boolean;
  principal: Principal;
  /** The whole body, at most `limit` octets (default: the server's max_body_size); 413 when larger. */
  body(limit?: number): Promise<Buffer>;
  /** The body parsed as JSON and validated (400 naming the field on failure; an empty body is `{}`). */
  json<S extends z.ZodType>(schema: S, limit?: number): Promise<z.infer<S>>;
  /** The query string validated (400 naming the parameter on failure). */
  query<S extends z.ZodType>(schema: S): z.infer<S>;
}

/** Read a request body up to `limit` octets; a larger one is refused with 413 before it is all read. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw new HttpError(413, `request body larger than ${limit} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, `request body larger than ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** zod issues to one HttpError naming the first failing field (path joined with dots). */
export function validationError(error: z.ZodError, prefix = ''): HttpError {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const field = prefix && path ? `${prefix}.${path}` : prefix || path;
  return new HttpError(400, field ? `${field}: ${issue?.message ?? 'invalid'}` : (issue?.message ?? 'invalid input'), field || undefined);
}

export function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) return {};
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `request body is not valid JSON: ${(err as Error).message}`, 'body');
  }
}

/** Query parameters as an object; a parameter given twice keeps the last value. */
export function queryObject(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) out[k] = v;
  return out;
}
