/** TLS material for the listeners: the configured certificate, or a self-signed one created in the data directory. */
import { existsSync, mkdirSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

export interface TlsMaterial {
  key: Buffer;
  cert: Buffer;
  selfSigned: boolean;
  /** Where it came from, for the log. */
  source: string;
}

export async function loadTls(options: { dataDir: string; hostname: string; cert?: string; key?: string }): Promise<TlsMaterial> {
  if (options.cert || options.key) {
    if (!options.cert || !options.key) throw new Error('TLS needs both a certificate (--tls-cert / tls.cert) and a key (--tls-key / tls.key)');
    const cert = readFileSync(options.cert);
    const key = readFileSync(options.key);
    new X509Certificate(cert); // fails early with a clear message on a broken file
    return { cert, key, selfSigned: false, source: options.cert };
  }
  const dir = join(options.dataDir, 'tls');
  const certFile = join(dir, 'selfsigned.crt');
  const keyFile = join(dir, 'selfsigned.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile);
    const x509 = new X509Certificate(cert);
    if (x509.checkHost(options.hostname) && new Date(x509.validTo) > new Date()) {
      return { cert, key: readFileSync(keyFile), selfSigned: true, source: certFile };
    }
  }
  const pems = await createSelfSigned(options.hostname);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(keyFile + '.tmp', pems.key, { mode: 0o600 });
  writeFileSync(certFile + '.tmp', pems.cert);
  renameSync(keyFile + '.tmp', keyFile);
  renameSync(certFile + '.tmp', certFile);
  return { cert: Buffer.from(pems.cert), key: Buffer.from(pems.key), selfSigned: true, source: certFile };
}

export async function createSelfSigned(hostname: string): Promise<{ cert: string; key: string }> {
  const altNames: Array<{ type: 2; value: string } | { type: 7; ip: string }> = [{ type: 2, value: hostname }];
  if (hostname !== 'localhost') altNames.push({ type: 2, value: 'localhost' });
  altNames.push({ type: 7, ip: '127.0.0.1' }, { type: 7, ip: '::1' });
  const r = await generate([{ name: 'commonName', value: hostname }], {
    keySize: 2048,
    notBeforeDate: new Date(Date.now() - 3600_000),
    notAfterDate: new Date(Date.now() + 825 * 86400_000),
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
  });
  return { cert: r.cert, key: r.private };
}
