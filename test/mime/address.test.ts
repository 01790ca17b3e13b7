import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddressList, parseAddressListWithGroups } from '../../src/mime/index.js';

test('PHP mail() style list', () => {
  assert.deepEqual(parseAddressList('Kris Arndt <karn@nucleus.com>,npl@nucleus.com'), [
    { name: 'Kris Arndt', address: 'karn@nucleus.com' },
    { name: '', address: 'npl@nucleus.com' },
  ]);
});

test('quoted names, comments, encoded words, IDN and UTF-8 local parts', () => {
  assert.deepEqual(parseAddressList('"Smith, John" <john@example.com>, "Q \\"quote\\"" <q@x.org>'), [
    { name: 'Smith, John', address: 'john@example.com' },
    { name: 'Q "quote"', address: 'q@x.org' },
  ]);
  assert.deepEqual(parseAddressList('john@example.com (John Smith)'), [{ name: 'John Smith', address: 'john@example.com' }]);
  assert.deepEqual(parseAddressList('Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>'), [{ name: 'Pete', address: 'pete@silly.test' }]);
  assert.deepEqual(parseAddressList('=?UTF-8?B?5byg5LiJ?= <zs@例子.中国>'), [{ name: '张三', address: 'zs@例子.中国' }]);
  assert.deepEqual(parseAddressList('"=?ISO-8859-1?Q?Andr=E9?=" <andre@x.fr>'), [{ name: 'André', address: 'andre@x.fr' }]);
  assert.deepEqual(parseAddressList('用户@例子.广告'), [{ name: '', address: '用户@例子.广告' }]);
  assert.deepEqual(parseAddressList('"john doe"@example.com'), [{ name: '', address: '"john doe"@example.com' }]);
});

test('groups (RFC 5322 appendix A.1.3)', () => {
  const r = parseAddressListWithGroups('A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Undisclosed recipients:;, x@y.z');
  assert.equal(r.entries.length, 3);
  assert.deepEqual(r.entries[0], {
    name: 'A Group',
    group: [
      { name: 'Ed Jones', address: 'c@a.test', group: 'A Group' },
      { name: '', address: 'joe@where.test', group: 'A Group' },
      { name: 'John', address: 'jdoe@one.test', group: 'A Group' },
    ],
  });
  assert.deepEqual(r.entries[1], { name: 'Undisclosed recipients', group: [] });
  assert.deepEqual(parseAddressList('A Group:Ed Jones <c@a.test>;').map((m) => m.address), ['c@a.test']);
});

test('garbage yields what can be recovered, never throws', () => {
  for (const s of ['', ',,,', '<', '>', '"unterminated', '(unterminated', '@', ':;', '<<a@b>>', 'a@b@c', '\u0000']) {
    assert.doesNotThrow(() => parseAddressList(s));
  }
  assert.deepEqual(parseAddressList('  , a@b.c ,, '), [{ name: '', address: 'a@b.c' }]);
});

test('100k addresses parse in linear time and respect maxAddresses', () => {
  const list = Array.from({ length: 100000 }, (_, i) => `user${i}@example.com`).join(', ');
  const t = performance.now();
  const all = parseAddressList(list, { maxAddresses: 200000 });
  assert.equal(all.length, 100000);
  assert.ok(performance.now() - t < 20000);
  const r = parseAddressListWithGroups(list, { maxAddresses: 10 });
  assert.equal(r.entries.length, 10);
  assert.equal(r.truncated, true);
  // hostile nesting of comments and quotes stays linear
  const hostile = '('.repeat(50000) + '"'.repeat(50000) + '<'.repeat(50000);
  const t2 = performance.now();
  parseAddressList(hostile);
  assert.ok(performance.now() - t2 < 20000);
});
