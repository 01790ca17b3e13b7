/**
 * Outbound delivery: the durable queue, its scheduler, routing (static routes, smarthost, MX), notices (DSNs), DKIM
 * signing and the control socket used by `posthorn queue`. `createDelivery()` is what `posthorn serve` starts and stops.
 */
import type { Directory } from '../directory/types.js';
import { silentLogger, type Logger } from '../observability/log.js';
import type { DeliveryConfig } from '../config/schema.js';
import type { MailStore } from '../store/types.js';
import { defaultRetryPolicy, type RetryPolicy } from './backoff.js';
import { systemClock, type Clock } from './clock.js';
import { ControlError, ControlServer } from './control.js';
import { createDkimSigner } from './dkim.js';
import { createResolver, type MxResolver } from './mx.js';
import { createNoticeSink } from './notices.js';
import { ConnectionPool } from './pool.js';
import { DiskQueue } from './queue.js';
import { QueueStore } from './queue-store.js';
import type { QueueRecord } from './record.js';
import { buildRouteTable, normalizeDomain, parseSmarthostUrl, type RoutingConfig } from './route.js';
import { Scheduler, type QueueSummary } from './scheduler.js';
import { createSmtpTransport, type SmtpTransportOptions } from './smtp-transport.js';
import type { RemoteTransport } from './transport.js';
import type { OutboundQueue } from './types.js';

export { parseRouteFlag, buildRouteTable, parseSmarthostUrl, RouteError } from './route.js';
export type { Envelope, OutboundQueue, QueueTransaction } from './types.js';

export interface DeliveryOptions {
  /** The data directory; the queue lives in <dataDir>/queue, DKIM keys in <dataDir>/dkim. */
  dataDir: string;
  /** The [delivery] config section (already parsed, defaults filled in); omitted keys take the schema defaults. */
  config?: Partial<DeliveryConfig>;
  /** Our host name (EHLO, Reporting-MTA, MAILER-DAEMON@). */
  hostname: string;
  /** Local delivery of notices to local senders. */
  store?: MailStore;
  directory?: Directory;
  logger?: Logger;
  /** Injected for tests; defaults: the SMTP client, node:dns (config.dns), the system clock, Math.random. */
  transport?: RemoteTransport;
  resolver?: MxResolver;
  clock?: Clock;
  random?: () => number;
  /** Extra trusted CA certificates (PEM) for verified TLS (a private smarthost's CA; tests). */
  tlsCa?: string | Buffer | Array<string | Buffer>;
  /** Port of MX hosts (default 25). */
  mxPort?: number;
  /** Jitter fraction of retry delays (default 0.2). */
  retryJitter?: number;
  /** Listen on <dataDir>/queue/control.sock for `posthorn queue` (default true). */
  controlSocket?: boolean;
  /** Largest original message returned in a bounce, octets (default 1 MiB). */
  maxReturnSize?: number;
  /** Largest message the queue takes, octets (default 100 MiB; the SMTP server's SIZE limit applies before). */
  maxMessageSize?: number;
  /** MX hosts tried per attempt, best first (default 10). */
  maxMxHosts?: number;
  /** DNS query timeout in ms (default 5000) and tries per query (default 2). */
  dnsTimeoutMs?: number;
  dnsTries?: number;
  /** SMTP client timeouts in ms (defaults: the client's; connect 30 s, greeting 60 s, command 120 s, data 600 s). */
  smtpTimeouts?: SmtpTransportOptions['timeouts'];
  /** Messages larger than this many octets are streamed from disk on each attempt (default 1 MiB). */
  streamThreshold?: number;
  /** Keep idle connections for reuse this long, ms (default 5000), for at most this many transactions (default 100). */
  connectionIdleMs?: number;
  maxTransactionsPerConnection?: number;
  /** Sign outgoing mail with keys from <dataDir>/dkim (default true; nothing is signed for domains without a key). */
  dkim?: boolean;
}

export interface Delivery {
  /** What the SMTP server calls for remote recipients. */
  readonly queue: OutboundQueue & { enqueue: DiskQueue['enqueue'] };
  /** Recover the queue from disk, start delivering, open the control socket. */
  start(): Promise<void>;
  /**
   * Stop scheduling; wait up to graceMs (default 10 s) for running attempts, then cut their connections (those
   * recipients stay queued); close connections and the control socket.
   */
  stop(graceMs?: number): Promise<void>;
  list(): QueueSummary[];
  show(id: string): QueueRecord | undefined;
  retry(id?: string): Promise<number>;
  delete(id: string): Promise<boolean>;
  /** Retry everything now and wait until no attempt is running. */
  flush(): Promise<number>;
  /** Resolves when no attempt is running (tests). */
  idle(): Promise<void>;
}

export function createDelivery(options: DeliveryOptions): Delivery {
  const cfg = options.config ?? {};
  const logger = (options.logger ?? silentLogger).child({ component: 'delivery' });
  const clock = options.clock ?? systemClock;
  const random = options.random ?? Math.random;
  const retry: RetryPolicy = {
    retryFirst: cfg.retry_first ?? defaultRetryPolicy.retryFirst,
    retryMax: cfg.retry_max ?? defaultRetryPolicy.retryMax,
    giveUpAfter: cfg.give_up_after ?? defaultRetryPolicy.giveUpAfter,
    delayWarningAfter: cfg.delay_warning_after ?? defaultRetryPolicy.delayWarningAfter,
    jitter: options.retryJitter ?? defaultRetryPolicy.jitter,
  };
  const routing: RoutingConfig = {
    routes: buildRouteTable(cfg.routes ?? {}),
    smarthostDomains: new Set((cfg.smarthost_domains ?? []).map(normalizeDomain)),
    ...(cfg.smarthost ? { smarthost: parseSmarthostUrl(cfg.smarthost) } : {}),
  };
  const resolver =
    options.resolver ??
    createResolver({ ...(cfg.dns ? { server: cfg.dns } : {}), timeoutMs: options.dnsTimeoutMs ?? 5000, tries: options.dnsTries ?? 2 });
  const store = new QueueStore(options.dataDir);
  const transport =
    options.transport ??
    createSmtpTransport({ logger, ...(options.tlsCa ? { ca: options.tlsCa } : {}), ...(options.smtpTimeouts ? { timeouts: options.smtpTimeouts } : {}) });
  const pool = new ConnectionPool(transport, options.hostname, {
    idleTimeoutMs: options.connectionIdleMs ?? 5000,
    maxTransactionsPerConnection: options.maxTransactionsPerConnection ?? 100,
  });
  let scheduler: Scheduler | null = null;
  const pendingCommits: QueueRecord[] = [];
  const queue = new DiskQueue({
    store,
    clock,
    maxMessageSize: options.maxMessageSize ?? 100 * 1024 * 1024,
    onCommit: (rec) => (scheduler ? scheduler.add(rec) : pendingCommits.push(rec)),
    ...(options.dkim === false ? {} : { signer: createDkimSigner({ dataDir: options.dataDir, logger }) }),
  });
  const notices = createNoticeSink({
    hostname: options.hostname,
    queue,
    queueStore: store,
    clock,
    logger,
    maxReturnSize: options.maxReturnSize ?? 1024 * 1024,
    giveUpAfterSeconds: retry.giveUpAfter,
    ...(options.store ? { store: options.store } : {}),
    ...(options.directory ? { directory: options.directory } : {}),
  });
  const sched = new Scheduler({
    store,
    pool,
    routing,
    resolver,
    requireTlsDomains: new Set((cfg.require_tls_domains ?? []).map(normalizeDomain)),
    retry,
    maxConcurrency: cfg.max_concurrency ?? 20,
    maxConcurrencyPerDestination: cfg.max_concurrency_per_domain ?? 4,
    mxPort: options.mxPort ?? 25,
    maxMxHosts: options.maxMxHosts ?? 10,
    streamThreshold: options.streamThreshold ?? 1024 * 1024,
    clock,
    random,
    logger,
    notices,
  });
  let control: ControlServer | null = null;

  const delivery: Delivery = {
    queue,
    async start() {
      // The control socket first: it also tells whether another server already works on this queue.
      if (options.controlSocket !== false) {
        await store.init();
        const server = new ControlServer(store.paths.socket, delivery, logger);
        try {
          await server.listen();
          control = server;
        } catch (err) {
          if (err instanceof ControlError) throw err;
          // E.g. a socket path over the ~107-byte Unix limit: deliver anyway; `posthorn queue` then works offline.
          logger.warn('queue.control_socket_unavailable', { path: store.paths.socket, err });
        }
      }
      const { records, problems } = await store.recover();
      for (const p of problems) logger.error('queue.broken_record', { problem: p });
      scheduler = sched;
      sched.start([...records, ...pendingCommits.splice(0)]);
      logger.info('queue.started', { messages: records.length });
    },
    async stop(graceMs?: number) {
      if (control) await control.close();
      control = null;
      await sched.stop(graceMs);
      await pool.closeAll();
    },
    list: () => sched.list(),
    show: (id) => sched.get(id),
    retry: (id) => sched.retryNow(id),
    delete: (id) => sched.delete(id),
    async flush() {
      const n = await sched.retryNow();
      await sched.idle();
      return n;
    },
    idle: () => sched.idle(),
  };
  return delivery;
}
