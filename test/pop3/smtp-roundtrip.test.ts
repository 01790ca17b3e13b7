/** End to end: a message delivered over SMTP (nodemailer -> our MX) is retrieved over POP3 byte for byte. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTransport } from 'nodemailer';
import { SmtpServer } from '../../src/server/smtp/index.js';
import { smtpSection } from '../../src/config/schema.js';
import { silentLogger } from '../../src/observability/log.js';
import { Pop3Transcript } from '../support/pop3-transcript.js';
import { ALICE, ALICE_PASSWORD, startPop3 } from '../support/pop3-fixture.js';

test('SMTP in, POP3 out: the same octets, after the trace headers the server added', async () => {
  const pop3 = await startPop3();
  const smtp = new SmtpServer({ hostname: 'mx.example.com', directory: pop3.directory, store: pop3.store, logger: silentLogger, config: smtpSection.parse({}) });
  const address = await smtp.listen('mx', { host: '127.0.0.1', port: 0 });
  const port = typeof address === 'string' ? 0 : address.port;
  try {
    const raw = [
      'From: Sender <sender@example.net>',
      'To: alice@example.com',
      'Subject: round trip',
      'Message-ID: <rt.1@example.net>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'Grüße aus Köln.',
      '.',
      '..two dots',
      '.leading dot',
      'x'.repeat(900),
      '',
      'last line',
      '',
    ].join('\r\n');
    const transport = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
    await transport.sendMail({ envelope: { from: 'sender@example.net', to: [ALICE] }, raw });
    transport.close();
    const original = Buffer.from(raw, 'utf8');
    const { client } = await Pop3Transcript.open(pop3.port);
    await client.command(`USER ${ALICE}`, /^\+OK/);
    await client.command(`PASS ${ALICE_PASSWORD}`, /^\+OK maildrop has 1 messages/);
    const size = Number((await client.command('LIST 1', /^\+OK 1 \d+$/)).split(' ')[2]);
    await client.command('RETR 1', `+OK ${size} octets`);
    const { content } = await client.bodyBytes();
    assert.equal(content.length, size);
    assert.ok(content.subarray(content.length - original.length).equals(original), 'the message follows the trace headers unchanged');
    const trace = content.subarray(0, content.length - original.length).toString('latin1');
    assert.match(trace, /^(?:(?:Return-Path|Received|Delivered-To|X-Posthorn[\w-]*|Authentication-Results|Received-SPF): [^\r\n]*\r\n(?:[ \t][^\r\n]*\r\n)*)+$/);
    assert.match(trace, /Received: /);
    await client.command('QUIT', /^\+OK/);
  } finally {
    await smtp.close(0);
    await pop3.close();
  }
});
