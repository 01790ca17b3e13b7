/** posthorn dkim generate|list: DKIM keys in <data>/dkim/<domain>/<selector>.key and the DNS records to publish. */
import type { Command } from 'commander';
import { DkimError, dnsRecordFor, generateDkimKey, loadDkimKeys, txtChunks, type DkimAlgorithm } from '../../delivery/dkim.js';
import { dataDirOf, run, UsageError } from '../options.js';

async function guarded(fn: () => Promise<void>): Promise<void> {
  await run(async () => {
    try {
      await fn();
    } catch (err) {
      if (err instanceof DkimError) {
        process.stderr.write(`posthorn: ${err.message}\n`);
        process.exit(1);
      }
      throw err;
    }
  });
}

export function registerDkimCommands(program: Command): void {
  const dkim = program.command('dkim').description('DKIM signing keys for outgoing mail');
  dkim
    .command('generate <domain>')
    .description('create a signing key for DOMAIN and print the DNS TXT record to publish')
    .option('--data <dir>', 'data directory')
    .option('--selector <s>', 'selector (default: ph<YYYYMM><r|e>)')
    .option('--algorithm <alg>', 'rsa (2048 bits, RSA-SHA256) or ed25519 (Ed25519-SHA256, RFC 8463)', 'rsa')
    .action((domain: string, opts: { data?: string; selector?: string; algorithm: string }) =>
      guarded(async () => {
        if (opts.algorithm !== 'rsa' && opts.algorithm !== 'ed25519') throw new UsageError('--algorithm must be rsa or ed25519');
        const key = await generateDkimKey(dataDirOf(opts), domain, {
          algorithm: opts.algorithm as DkimAlgorithm,
          ...(opts.selector ? { selector: opts.selector } : {}),
        });
        process.stdout.write(
          `Key written to ${key.path}\n` +
            `Publish this TXT record (outgoing mail from ${domain} is signed from now on):\n\n` +
            `${key.zoneLine}\n\n` +
            `Name:  ${key.name}\nValue: ${key.value}\n`,
        );
      }),
    );
  dkim
    .command('list <domain>')
    .description("print the DNS TXT records of DOMAIN's keys")
    .option('--data <dir>', 'data directory')
    .action((domain: string, opts: { data?: string }) =>
      guarded(async () => {
        const keys = await loadDkimKeys(dataDirOf(opts), domain);
        if (keys.length === 0) throw new DkimError(`no DKIM key for ${domain}`);
        for (const k of keys) {
          const { value } = dnsRecordFor(k.privateKeyPem);
          process.stdout.write(`${k.selector}._domainkey.${k.domain}. IN TXT ${txtChunks(value).map((c) => `"${c}"`).join(' ')}\n`);
        }
      }),
    );
}
