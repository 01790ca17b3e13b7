import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMailDate, parseMailDate } from '../../src/mime/index.js';

test('RFC 5322 dates, obsolete zones and two-digit years (section 4.3)', () => {
  const iso = (s: string): string | undefined => parseMailDate(s)?.toISOString();
  assert.equal(iso('Fri, 21 Nov 1997 09:55:06 -0600'), '1997-11-21T15:55:06.000Z');
  assert.equal(iso('Thu, 13 Feb 1969 23:32:54 -0330'), '1969-02-14T03:02:54.000Z');
  assert.equal(iso('21 Nov 97 09:55:06 GMT'), '1997-11-21T09:55:06.000Z');
  assert.equal(iso('Mon, 6 Apr 1992 10:22:54 -0700 (PDT)'), '1992-04-06T17:22:54.000Z');
  assert.equal(iso('Tue, 1 Jul 2003 10:52:37 EDT'), '2003-07-01T14:52:37.000Z');
  assert.equal(iso('Fri, 21 Nov 1997 09:55 +0000'), '1997-11-21T09:55:00.000Z');
  assert.equal(iso('2024-01-02T03:04:05Z'), '2024-01-02T03:04:05.000Z');
  assert.equal(parseMailDate('not a date'), null);
  assert.equal(parseMailDate(undefined), null);
  assert.equal(formatMailDate(new Date(Date.UTC(2024, 0, 2, 3, 4, 5))), 'Tue, 2 Jan 2024 03:04:05 +0000');
});

test('hostile Date headers cost linear time', () => {
  const t = performance.now();
  parseMailDate('('.repeat(1000000));
  parseMailDate('1 '.repeat(500000));
  assert.ok(performance.now() - t < 5000);
});
