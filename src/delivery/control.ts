/**
 * Queue control for `posthorn queue`. A running server listens on the Unix socket <data>/queue/control.sock (mode 0600,
 * so only the server's user can use it). Protocol: the client sends one JSON line, the server answers one JSON line and
 * closes:
 *
 *   -> {"cmd":"list"} | {"cmd":"show","id":ID} | {"cmd":"retry"[,"id":ID]} | {"cmd":"delete","id":ID} | {"cmd":"flush"}
 *   <- {"ok":true,"result":...} | {"ok":false,"error":"..."}
 *
 * When no server runs (no socket, or nobody listening), the CLI works on the files directly (runOffline): list and show
 * read the state records; retry and flush make pending recipients due (the next `serve` picks them up at once); delete
 * removes the message. Going through the server when it runs keeps one writer per record.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import * as fsp from 'node:fs/promises';
import type { Logger } from '../observability/log.js';
import { QueueStore } from './queue-store.js';
import { isQueueId, type QueueRecord } from './record.js';
import { summarize, type QueueSummary } from './scheduler.js';

export type ControlRequest =
  | { cmd: 'list' }
  | { cmd: 'show'; id: string }
  | { cmd: 'retry'; id?: string }
  | { cmd: 'delete'; id: string }
  | { cmd: 'flush' };

export type ControlResult = QueueSummary[] | QueueRecord | { count: number } | { deleted: boolean };

export interface ControlTarget {
  list(): QueueSummary[];
  show(id: string): QueueRecord | undefined;
  retry(id?: string): Promise<number>;
  delete(id: string): Promise<boolean>;
  flush(): Promise<number>;
}

export class ControlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ControlError';
  }
}

const MAX_REQUEST = 4096;

export function parseRequest(line: string): ControlRequest {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new ControlError('request is not JSON');
  }
  if (typeof v !== 'object' || v === null) throw new ControlError('request must be an object');
  const { cmd, id } = v as { cmd?: unknown; id?: unknown };
  if (id !== undefined && (typeof id !== 'string' || !isQueueId(id))) throw new ControlError('bad queue id');
  switch (cmd) {
    case 'list':
    case 'flush':
      return { cmd };
    case 'retry':
      return id === undefined ? { cmd } : { cmd, id: id as string };
    case 'show':
    case 'delete':
      if (id === undefined) throw new ControlError(`${cmd} needs an id`);
      return { cmd, id: id as string };
    default:
      throw new ControlError(`unknown command ${JSON.stringify(cmd)}`);
  }
}

async function execute(target: ControlTarget, req: ControlRequest): Promise<ControlResult> {
  switch (req.cmd) {
    case 'list':
      return target.list();
    case 'show': {
      const rec = target.show(req.id);
      if (!rec) throw new ControlError(`no message ${req.id} in the queue`);
      return rec;
    }
    case 'retry':
      if (req.id && !target.show(req.id)) throw new ControlError(`no message ${req.id} in the queue`);
      return { count: await target.retry(req.id) };
    case 'delete': {
      const deleted = await target.delete(req.id);
      if (!deleted) throw new ControlError(`no message ${req.id} in the queue`);
      return { deleted };
    }
    case 'flush':
      return { count: await target.flush() };
  }
}

export class ControlServer {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly path: string,
    private readonly target: ControlTarget,
    private readonly logger: Logger,
  ) {}

  async listen(): Promise<void> {
    if (await isListening(this.path)) throw new ControlError(`another server is using this queue (${this.path} answers)`);
    await fsp.rm(this.path, { force: true });
    const server = createServer((socket) => this.handle(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await fsp.chmod(this.path, 0o600);
    this.server = server;
  }

  private handle(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => {});
    socket.setTimeout(30_000, () => socket.destroy());
    let buf = '';
    let done = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (done) return;
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0 && buf.length <= MAX_REQUEST) return;
      done = true;
      const reply = (body: object) => socket.end(JSON.stringify(body) + '\n');
      if (nl < 0) return reply({ ok: false, error: 'request too long' });
      let req: ControlRequest;
      try {
        req = parseRequest(buf.slice(0, nl));
      } catch (err) {
        return reply({ ok: false, error: (err as Error).message });
      }
      this.logger.info('queue.control', { cmd: req.cmd, ...('id' in req && req.id ? { id: req.id } : {}) });
      execute(this.target, req).then(
        (result) => reply({ ok: true, result }),
        (err: unknown) => reply({ ok: false, error: err instanceof ControlError ? err.message : `internal error: ${(err as Error).message}` }),
      );
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fsp.rm(this.path, { force: true });
  }
}

function isListening(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Send one request to a running server; null when no server listens on the data directory. */
export function requestServer(socketPath: string, req: ControlRequest, timeoutMs = 60_000): Promise<ControlResult | null> {
  return new Promise((resolve, reject) => {
    const s = connect(socketPath);
    let buf = '';
    let connected = false;
    s.setEncoding('utf8');
    s.setTimeout(timeoutMs, () => {
      s.destroy();
      reject(new ControlError('the server did not answer in time'));
    });
    s.once('connect', () => {
      connected = true;
      s.write(JSON.stringify(req) + '\n');
    });
    s.on('data', (chunk: string) => (buf += chunk));
    s.once('error', (err: NodeJS.ErrnoException) => {
      if (!connected && (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')) resolve(null);
      else reject(err);
    });
    s.once('end', () => {
      try {
        const answer = JSON.parse(buf) as { ok: boolean; result?: ControlResult; error?: string };
        if (answer.ok && answer.result !== undefined) resolve(answer.result);
        else reject(new ControlError(answer.error ?? 'no answer'));
      } catch {
        reject(new ControlError('unreadable answer from the server'));
      }
    });
  });
}

/** The same commands on the files, for when no server runs. */
export async function runOffline(dataDir: string, req: ControlRequest, now = Date.now()): Promise<ControlResult> {
  const store = new QueueStore(dataDir);
  const records = async (): Promise<QueueRecord[]> => {
    let names: string[];
    try {
      names = await fsp.readdir(store.paths.state);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const out: QueueRecord[] = [];
    for (const n of names.filter((x) => x.endsWith('.json')).sort()) {
      const rec = await store.readRecord(n.slice(0, -5)).catch(() => null);
      if (rec) out.push(rec);
    }
    return out;
  };
  const reschedule = async (list: QueueRecord[]): Promise<number> => {
    let count = 0;
    for (const rec of list) {
      let changed = false;
      for (const r of rec.recipients) {
        if (r.status === 'pending' && r.nextAttemptAt > now) {
          // 0, not now: due at once whatever the server's clock says when it starts.
          r.nextAttemptAt = 0;
          changed = true;
          count++;
        }
      }
      if (changed) await store.writeRecord(rec);
    }
    return count;
  };
  switch (req.cmd) {
    case 'list':
      return (await records()).map(summarize);
    case 'show': {
      const rec = await store.readRecord(req.id);
      if (!rec) throw new ControlError(`no message ${req.id} in the queue`);
      return rec;
    }
    case 'retry': {
      if (!req.id) return { count: await reschedule(await records()) };
      const rec = await store.readRecord(req.id);
      if (!rec) throw new ControlError(`no message ${req.id} in the queue`);
      return { count: await reschedule([rec]) };
    }
    case 'flush':
      return { count: await reschedule(await records()) };
    case 'delete': {
      const rec = await store.readRecord(req.id);
      if (!rec) throw new ControlError(`no message ${req.id} in the queue`);
      await store.remove(req.id);
      return { deleted: true };
    }
  }
}

/** Run a queue command against the running server, or offline on the files when none runs. */
export async function queueCommand(dataDir: string, req: ControlRequest): Promise<{ mode: 'server' | 'offline'; result: ControlResult }> {
  const store = new QueueStore(dataDir);
  const viaServer = await requestServer(store.paths.socket, req);
  if (viaServer !== null) return { mode: 'server', result: viaServer };
  return { mode: 'offline', result: await runOffline(dataDir, req) };
}
