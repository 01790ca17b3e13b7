/**
 * Runs Dovecot's POP3 server on loopback for the benchmark, with its own configuration under a work directory (never
 * the system's /etc/dovecot): Maildir mail at `mailRoot/<domain>/<local>`, a passwd-file passdb, no TLS. Installs
 * dovecot-pop3d with apt-get only when it is missing. Returns null with a reason when Dovecot cannot be had.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { dirname, join } from 'node:path';

export interface DovecotInstance {
  port: number;
  version: string;
  /** CPU seconds used so far by the master and every process it has reaped (sessions, logins, auth). */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** utime + stime + cutime + cstime of a process, in seconds (Linux /proc). */
export function processTreeCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime..cstime are fields 14-17.
    const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
    return ticks / 100;
  } catch {
    return 0;
  }
}

function findDovecot(): string | null {
  for (const p of ['/usr/sbin/dovecot', '/usr/local/sbin/dovecot']) if (existsSync(p)) return p;
  return null;
}

function hasPop3(): boolean {
  return existsSync('/usr/lib/dovecot/pop3') || existsSync('/usr/libexec/dovecot/pop3');
}

/** Install dovecot-pop3d if missing (apt-get; `apt-get update` first only if the plain install fails). */
export function ensureDovecot(log: (line: string) => void): string | null {
  let binary = findDovecot();
  if (binary && hasPop3()) return binary;
  const apt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' });
  if (apt.status !== 0) return null;
  log('installing dovecot-pop3d with apt-get ...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', 'dovecot-pop3d'], { env, stdio: 'ignore' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update'], { env, stdio: 'ignore' });
    r = spawnSync('apt-get', ['install', '-y', 'dovecot-pop3d'], { env, stdio: 'ignore' });
  }
  binary = findDovecot();
  return r.status === 0 && binary && hasPop3() ? binary : null;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitForGreeting(port: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('+OK'));
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

export async function startDovecot(options: {
  workDir: string;
  mailRoot: string;
  users: { user: string; password: string }[];
  log: (line: string) => void;
}): Promise<DovecotInstance | { skipped: string }> {
  const binary = ensureDovecot(options.log);
  if (!binary) return { skipped: 'dovecot-pop3d is not installed and could not be installed (apt-get failed or unavailable)' };
  const version = execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
  const dir = options.workDir;
  rmSync(dir, { recursive: true, force: true });
  for (const sub of ['run', 'state', 'home']) mkdirSync(join(dir, sub), { recursive: true, mode: 0o755 });
  const port = await freePort();
  const passwd = join(dir, 'passwd');
  // Dovecot's auth process runs as the unprivileged "dovecot" user: it must be able to reach and read the passwd file
  // (benchmark-only passwords). Only the work directory and its parent (the benchmark's own) are opened up.
  chmodSync(dir, 0o755);
  chmodSync(dirname(dir), 0o755);
  writeFileSync(passwd, options.users.map((u) => `${u.user}:{PLAIN}${u.password}::::::\n`).join(''), { mode: 0o644 });
  // Dovecot refuses to access mail as root: when run as root, mail belongs to "nobody" (mailRoot is Dovecot's own tree).
  let uid = process.getuid?.() ?? 0;
  let gid = process.getgid?.() ?? 0;
  if (uid === 0) {
    uid = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).trim());
    execFileSync('chown', ['-R', `${uid}:${gid}`, options.mailRoot, join(dir, 'home')]);
    chmodSync(dirname(options.mailRoot), 0o755);
  }
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(
    conf,
    `# Written by bench/pop3.bench.ts: a private Dovecot for the POP3 benchmark.
protocols = pop3
listen = 127.0.0.1
base_dir = ${dir}/run
state_dir = ${dir}/state
log_path = ${dir}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
first_valid_uid = ${Math.max(1, Math.min(uid, 500))}
first_valid_gid = ${Math.max(1, Math.min(gid, 500))}
mail_location = maildir:${options.mailRoot}/%d/%n
pop3_no_flag_updates = yes
passdb {
  driver = passwd-file
  args = scheme=PLAIN ${passwd}
}
userdb {
  driver = static
  args = uid=${uid} gid=${gid} home=${dir}/home/%d/%n
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${port}
  }
  inet_listener pop3s {
    port = 0
  }
}
service anvil {
  chroot =
}
`,
  );
  const child: ChildProcess = spawn(binary, ['-F', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.pid) {
      process.kill(child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null && child.pid) process.kill(child.pid, 'SIGKILL');
    }
  };
  if (!(await waitForGreeting(port, 10_000))) {
    await stop();
    const logText = existsSync(join(dir, 'dovecot.log')) ? readFileSync(join(dir, 'dovecot.log'), 'utf8').slice(-800) : '';
    return { skipped: `dovecot did not start: ${(stderr + logText).trim().slice(-800)}` };
  }
  return { port, version, stop, cpuSeconds: () => (child.pid ? processTreeCpuSeconds(child.pid) : 0) };
}
