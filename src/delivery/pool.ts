/**
 * Connection reuse: sessions to the same target (host, address, port, TLS mode, credentials) are kept open for a short
 * while after a transaction and reused (after RSET) for the next one, up to a number of transactions per connection.
 */
import type { DeliveryTarget, RemoteSession, RemoteTransport } from './transport.js';
import { targetKey } from './transport.js';

export interface PoolOptions {
  /** Close an idle connection after this many ms. */
  idleTimeoutMs: number;
  /** Transactions per connection before it is closed (0: no reuse). */
  maxTransactionsPerConnection: number;
}

interface Idle {
  session: RemoteSession;
  timer: NodeJS.Timeout;
}

export class ConnectionPool {
  private readonly idle = new Map<string, Idle[]>();
  private readonly uses = new WeakMap<RemoteSession, number>();
  /** Sessions handed out and not yet given back. */
  private readonly busy = new Set<RemoteSession>();
  private closed = false;

  constructor(
    private readonly transport: RemoteTransport,
    private readonly heloName: string,
    private readonly options: PoolOptions,
  ) {}

  /** An open session to the target: a reused idle one (after a successful RSET) or a new connection. */
  async acquire(target: DeliveryTarget): Promise<RemoteSession> {
    if (this.closed) throw new Error('delivery is stopping');
    const list = this.idle.get(targetKey(target));
    while (list && list.length > 0) {
      const { session, timer } = list.pop() as Idle;
      clearTimeout(timer);
      if (!session.usable) continue;
      try {
        await session.reset();
        this.busy.add(session);
        return session;
      } catch {
        await session.close().catch(() => {});
      }
    }
    const session = await this.transport.connect(target, this.heloName);
    this.uses.set(session, 0);
    if (this.closed) {
      await session.close().catch(() => {});
      throw new Error('delivery is stopping');
    }
    this.busy.add(session);
    return session;
  }

  /** Give a session back after a transaction: keep it for reuse or close it. */
  async release(session: RemoteSession): Promise<void> {
    this.busy.delete(session);
    const used = (this.uses.get(session) ?? 0) + 1;
    this.uses.set(session, used);
    if (this.closed || !session.usable || used >= this.options.maxTransactionsPerConnection) {
      await session.close().catch(() => {});
      return;
    }
    const key = targetKey(session.target);
    const list = this.idle.get(key) ?? [];
    const timer = setTimeout(() => {
      const l = this.idle.get(key);
      const i = l?.findIndex((x) => x.session === session) ?? -1;
      if (l && i >= 0) l.splice(i, 1);
      void session.close().catch(() => {});
    }, this.options.idleTimeoutMs);
    timer.unref();
    list.push({ session, timer });
    this.idle.set(key, list);
  }

  async discard(session: RemoteSession): Promise<void> {
    this.busy.delete(session);
    await session.close().catch(() => {});
  }

  /** Stop handing out connections and close the idle ones. */
  async drain(): Promise<void> {
    this.closed = true;
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    for (const { timer } of all) clearTimeout(timer);
    await Promise.all(all.map(({ session }) => session.close().catch(() => {})));
  }

  /** Close the connections in use too: their transactions fail (and are retried later). */
  async abortBusy(): Promise<void> {
    const list = [...this.busy];
    this.busy.clear();
    await Promise.all(list.map((s) => s.close().catch(() => {})));
  }

  async closeAll(): Promise<void> {
    this.closed = true;
    const all = [...this.idle.values()].flat();
    this.idle.clear();
    for (const { timer } of all) clearTimeout(timer);
    await Promise.all(all.map(({ session }) => session.close().catch(() => {})));
  }
}
