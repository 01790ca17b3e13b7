/**
 * The posthorn.toml schema. Every key has a safe default; an unknown key or a bad value is an error naming the key.
 * Sections: top level (version, hostname, log_level), [listeners], [tls], [smtp], [pop3], [delivery], [http], [dev].
 * Keys are snake_case in the file; this schema is the single reference for their names, types and defaults.
 */
import { z } from 'zod';

export const CONFIG_VERSION = 1;

/** "HOST:PORT", "[v6]:PORT" or "off". */
export const listenAddress = z
  .string()
  .refine((v) => v === 'off' || parseHostPort(v) !== null, { message: 'expected HOST:PORT (port 0-65535) or "off"' });

export function parseHostPort(value: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(value);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2], port };
}

const size = z.number().int().min(0);
const seconds = z.number().min(0);
const positive = z.number().int().min(1);

export const smtpSection = z.strictObject({
  /** Largest message accepted, octets (SIZE). */
  max_message_size: size.default(50 * 1024 * 1024),
  /** Recipients per message; RFC 5321 asks for at least 100. */
  max_recipients: positive.default(100),
  /** Simultaneous connections in total, all SMTP listeners together. */
  max_connections: positive.default(20000),
  /** Simultaneous connections per client address (trusted networks exempt). */
  max_connections_per_ip: positive.default(50),
  /** Commands allowed before MAIL (slows down dictionary attacks and bots). */
  max_commands_before_mail: positive.default(50),
  /** Errors in one session before 421 and close. */
  max_errors: positive.default(20),
  /** Longest command line, octets including CRLF (RFC 5321: 512). */
  max_command_line: positive.default(512),
  /** Longest text line in DATA, octets including CRLF (RFC 5321: 1000). */
  max_text_line: positive.default(1000),
  /** Octets of an over-long command line skipped while looking for its end before the connection is cut off. */
  max_discarded_line: positive.default(65536),
  /** Accept text lines up to this length instead (leniency for broken senders); 0 means use max_text_line. */
  lenient_text_line: size.default(0),
  /** "reject": bare CR or LF in message data gets 5xx after the final dot; "normalize": rewritten to CRLF. */
  bare_line_endings: z.enum(['reject', 'normalize']).default('reject'),
  /** Seconds to wait before sending the greeting (early talkers are refused). */
  greeting_delay: seconds.default(0),
  /** Server timeouts in seconds (RFC 5321 4.5.3.2.7: at least 5 minutes between commands; 3 minutes per data block). */
  timeout_command: seconds.default(300),
  timeout_data_block: seconds.default(180),
  /** Allow AUTH PLAIN/LOGIN without TLS on submission. */
  allow_insecure_auth: z.boolean().default(false),
  /** Offer AUTH on the MX listener too. */
  auth_on_mx: z.boolean().default(false),
  /** Name the authenticated user in the Received: header. */
  received_show_user: z.boolean().default(false),
  /** Networks exempt from connection counts and rates (never from auth throttling, relay or line-ending rules). */
  trusted_networks: z.array(z.string()).default(['127.0.0.0/8', '::1/128']),
  /** Failed-login throttling. */
  auth_free_failures: size.default(2),
  auth_delay_step: seconds.default(1),
  auth_max_delay: seconds.default(5),
  auth_lockout_after: positive.default(10),
  auth_lockout_time: seconds.default(900),
});

export const pop3Section = z.strictObject({
  /** Autologout timer, seconds (RFC 1939: at least 600). */
  timeout: z.number().min(600).default(600),
  /** Allow USER/PASS and SASL PLAIN/LOGIN before TLS. Unset: allowed only on loopback listeners. */
  allow_insecure_auth: z.boolean().optional(),
  /** EXPIRE capability value: "NEVER" or a number of days. */
  expire: z.union([z.literal('NEVER'), z.number().int().min(0)]).default('NEVER'),
  /** LOGIN-DELAY capability value in seconds (0: not enforced, still advertised as 0). */
  login_delay: size.default(0),
  /** Longest command line, octets including CRLF (RFC 2449: 255). AUTH lines may be as long as a SASL response. */
  max_command_line: z.number().int().min(64).default(255),
  max_connections: positive.default(2000),
  max_connections_per_ip: positive.default(50),
  auth_free_failures: size.default(2),
  auth_delay_step: seconds.default(1),
  auth_max_delay: seconds.default(5),
  auth_lockout_after: positive.default(10),
  auth_lockout_time: seconds.default(900),
});

export const deliverySection = z.strictObject({
  /** Static routes: domain (or "*") -> "HOST:PORT". */
  routes: z.record(z.string(), z.string().refine((v) => parseHostPort(v) !== null, { message: 'expected HOST:PORT' })).default({}),
  /** Relay through this server: smtp://, smtps:// or smtp+starttls:// with optional user:password@. */
  smarthost: z.string().optional(),
  /** Domains relayed through the smarthost; empty means every domain. */
  smarthost_domains: z.array(z.string()).default([]),
  /** DNS resolver "HOST:PORT" for MX lookups; unset: the system resolver. */
  dns: z.string().refine((v) => parseHostPort(v) !== null, { message: 'expected HOST:PORT' }).optional(),
  /** Retry schedule, seconds. */
  retry_first: seconds.default(300),
  retry_max: seconds.default(3600),
  give_up_after: seconds.default(5 * 86400),
  delay_warning_after: seconds.default(4 * 3600),
  max_concurrency: positive.default(20),
  max_concurrency_per_domain: positive.default(4),
  /** Domains that require TLS with a verified certificate. */
  require_tls_domains: z.array(z.string()).default([]),
});

/** The web viewer and its API on listeners.http (src/server/http). */
export const httpSection = z.strictObject({
  /** Serve HTTPS on listeners.http with the server's certificate (session cookies are then Secure). */
  tls: z.boolean().default(false),
  /** "auto": login required, except in developer mode on a loopback listener; "required"; "none" (loopback only). */
  auth: z.enum(['auto', 'required', 'none']).default('auto'),
  /** Largest request body, octets (the send API with attachments is the largest). */
  max_body_size: positive.default(10 * 1024 * 1024),
  /** Simultaneous HTTP connections (event streams and WebSockets included). */
  max_connections: positive.default(1000),
  /** Simultaneous event streams (SSE and WebSocket together). */
  max_event_clients: positive.default(500),
  /** Events kept for clients that resume with Last-Event-ID. */
  event_buffer: positive.default(10000),
  /** Browser session: idle timeout and absolute lifetime, seconds. */
  session_idle_timeout: positive.default(86400),
  session_max_age: positive.default(7 * 86400),
  /** Longest `timeout` a GET /api/v1/messages/wait may ask for, seconds. */
  wait_max_timeout: positive.default(300),
  /** Most messages one page of a list or search returns. */
  max_page_size: positive.default(1000),
  /** Origins (scheme://host:port) besides this server's own that may make state changes and open WebSockets. */
  allowed_origins: z.array(z.string()).default([]),
  /** Link check: let it reach private, loopback and link-local addresses (off: they are reported, never fetched). */
  link_check_private: z.boolean().default(false),
  /** Link check: seconds per link, links per message, parallel requests. */
  link_check_timeout: seconds.default(5),
  link_check_max_links: positive.default(200),
  link_check_concurrency: positive.default(8),
  /** Webhooks: seconds per POST, attempts before a delivery is given up, first and largest retry delay in seconds. */
  webhook_timeout: seconds.default(10),
  webhook_max_attempts: positive.default(12),
  webhook_retry_first: seconds.default(5),
  webhook_retry_max: seconds.default(3600),
  /** Webhooks may POST to private, loopback and link-local addresses. */
  webhook_private: z.boolean().default(false),
});

/** Developer mode (`posthorn serve --dev`, `posthorn dev`): capture every message, never relay. */
export const devSection = z.strictObject({
  enabled: z.boolean().default(false),
  /** Retention per mailbox, oldest first: most messages, most days, most octets (0: no limit). */
  max_messages: size.default(10000),
  max_age_days: size.default(0),
  max_bytes: size.default(0),
  /** Mailbox for mail sent without AUTH. */
  default_mailbox: z.string().min(1).default('dev'),
  /** Routing rules, first match wins: a recipient glob ("*@example.com") or a header match ("X-Tenant: a*"). */
  routes: z
    .array(
      z.strictObject({
        recipient: z.string().min(1).optional(),
        header: z.string().regex(/^[!-9;-~]+:\s*.*$/, 'expected "Name: pattern"').optional(),
        mailbox: z.string().min(1),
      }),
    )
    .default([]),
});

export const configSchema = z.strictObject({
  version: z.literal(CONFIG_VERSION).default(CONFIG_VERSION),
  /** Name used in greetings, Received headers, the self-signed certificate. */
  hostname: z.string().min(1).optional(),
  log_level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  listeners: z
    .strictObject({
      smtp: listenAddress.default('127.0.0.1:2525'),
      submission: listenAddress.default('127.0.0.1:2587'),
      smtps: listenAddress.default('127.0.0.1:2465'),
      pop3: listenAddress.default('127.0.0.1:2110'),
      pop3s: listenAddress.default('127.0.0.1:2995'),
      http: listenAddress.default('127.0.0.1:8025'),
    })
    .prefault({}),
  tls: z
    .strictObject({
      cert: z.string().optional(),
      key: z.string().optional(),
    })
    .prefault({}),
  smtp: smtpSection.prefault({}),
  pop3: pop3Section.prefault({}),
  delivery: deliverySection.prefault({}),
  http: httpSection.prefault({}),
  dev: devSection.prefault({}),
});

export type PosthornConfig = z.infer<typeof configSchema>;
export type SmtpConfig = z.infer<typeof smtpSection>;
export type Pop3Config = z.infer<typeof pop3Section>;
export type DeliveryConfig = z.infer<typeof deliverySection>;
export type HttpConfig = z.infer<typeof httpSection>;
export type DevConfig = z.infer<typeof devSection>;
export type ListenerName = keyof PosthornConfig['listeners'];
