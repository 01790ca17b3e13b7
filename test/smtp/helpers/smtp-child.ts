/**
 * Child process for the crash test: an SMTP server delivering into a MaildirStore at argv[2]. Prints the port on
 * stdout, then serves until killed.
 */
import type { AddressInfo } from 'node:net';
import { smtpSection } from '../../../src/config/schema.js';
import { MaildirStore } from '../../../src/store/maildir/index.js';
import { silentLogger } from '../../../src/observability/log.js';
import { SmtpServer } from '../../../src/server/smtp/index.js';
import { testDirectory } from '../fixture.js';

const root = process.argv[2];
const store = new MaildirStore({ root });
await store.recover();
const server = new SmtpServer({ hostname: 'mx.example.com', directory: testDirectory(), store, logger: silentLogger, config: smtpSection.parse({}) });
const address = (await server.listen('mx', { host: '127.0.0.1', port: 0 })) as AddressInfo;
process.stdout.write(`${address.port}\n`);
