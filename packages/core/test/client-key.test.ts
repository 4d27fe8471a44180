import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  clientKeyFromIp,
  HardenConfigError,
  INVALID_ADDRESS_KEY,
  resolveClientKeyOptions,
} from '@harden/core';

/** Every spelling in one row must give the row's key. */
const SPELLINGS: ReadonlyArray<[string, string, readonly string[]]> = [
  ['IPv4', '1.2.3.4', ['1.2.3.4', '1.2.3.4:5678', '001.002.003.004', '01.2.3.4:80']],
  [
    'IPv4-mapped IPv6',
    '1.2.3.4',
    [
      '::ffff:1.2.3.4',
      '::FFFF:1.2.3.4',
      '::ffff:102:304',
      '::ffff:0102:0304',
      '0:0:0:0:0:ffff:102:304',
      '0000:0000:0000:0000:0000:FFFF:0102:0304',
      '0:0:0:0:0:ffff:1.2.3.4',
      '[::ffff:1.2.3.4]',
      '[::ffff:1.2.3.4]:443',
    ],
  ],
  [
    'IPv6 in one /64',
    '2001:db8:1:2::/64',
    [
      '2001:db8:1:2::1',
      '2001:DB8:1:2::1',
      '2001:0db8:0001:0002:0000:0000:0000:0001',
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:db8:1:2:a:b:c:d',
      '[2001:db8:1:2::1]',
      '[2001:db8:1:2::1]:8080',
      '2001:db8:1:2::1%eth0',
      '2001:db8:1:2::1%25eth0',
      '[2001:db8:1:2::1%eth0]:443',
    ],
  ],
  [
    'IPv6 loopback',
    '::/64',
    ['::1', '0:0:0:0:0:0:0:1', '[::1]', '[::1]:3000', '0000:0000:0000:0000:0000:0000:0000:0001'],
  ],
  ['link-local with zone', 'fe80::/64', ['fe80::1%eth0', 'FE80::1%lo', 'fe80:0:0:0:abcd::1']],
];

describe('clientKeyFromIp', () => {
  for (const [name, key, spellings] of SPELLINGS) {
    for (const spelling of spellings) {
      test(`${name}: ${spelling} keys as ${key}`, () => {
        assert.equal(clientKeyFromIp(spelling), key);
      });
    }
  }

  test('another /64 gets another key', () => {
    assert.equal(clientKeyFromIp('2001:db8:1:3::1'), '2001:db8:1:3::/64');
    assert.notEqual(clientKeyFromIp('2001:db8:1:3::1'), clientKeyFromIp('2001:db8:1:2::1'));
  });

  test('prefix length groups wider networks', () => {
    assert.equal(clientKeyFromIp('2001:db8:1:2::1', 48), '2001:db8:1::/48');
    assert.equal(clientKeyFromIp('2001:db8:1:ff02::1', 48), '2001:db8:1::/48');
    assert.equal(clientKeyFromIp('2001:db8:1:2::1', 56), '2001:db8:1::/56');
    assert.equal(clientKeyFromIp('2001:db8:1:1ff::1', 56), '2001:db8:1:100::/56');
    assert.equal(clientKeyFromIp('2001:db8:1:2::1', 128), '2001:db8:1:2::1/128');
    assert.equal(clientKeyFromIp('2001:db8:1:2::1', 1), '::/1');
  });

  test('mapped IPv4 ignores the IPv6 prefix', () => {
    assert.equal(clientKeyFromIp('::ffff:10.0.0.1', 48), '10.0.0.1');
  });

  test('canonical form compresses the longest zero run', () => {
    assert.equal(clientKeyFromIp('2001:db8:0:0:1:0:0:1', 128), '2001:db8::1:0:0:1/128');
    assert.equal(clientKeyFromIp('2001:0:0:1:0:0:0:1', 128), '2001:0:0:1::1/128');
    assert.equal(clientKeyFromIp('2001:db8:1:2:3:4:0:5', 128), '2001:db8:1:2:3:4:0:5/128');
  });

  const garbage = [
    '',
    'unknown',
    '1.2.3',
    '1.2.3.4.5',
    '256.1.1.1',
    '1.2.3.4:port',
    '0x7f.0.0.1',
    '2130706433',
    '1.2.3.-4',
    ':::1',
    '1::2::3',
    '2001:db8:1:2:3:4:5:6:7',
    '2001:db8:1:2:3:4:5',
    '12345::1',
    'g::1',
    '[::1',
    '[::1]x',
    '[::1]:99999999',
    '::ffff:1.2.3.256',
    '1.2.3.4::',
    '2001:db8::1.2.3',
    ' 1.2.3.4',
    'a'.repeat(1000),
  ];
  for (const address of garbage) {
    test(`garbage ${JSON.stringify(address.slice(0, 20))} shares the invalid bucket`, () => {
      assert.equal(clientKeyFromIp(address), INVALID_ADDRESS_KEY);
    });
  }
});

describe('resolveClientKeyOptions', () => {
  test('defaults to a /64', () => {
    assert.deepEqual(resolveClientKeyOptions(undefined, 'rateLimit'), { ipv6PrefixLength: 64 });
  });

  for (const bad of [0, 129, 64.5, Number.NaN, -1]) {
    test(`rejects prefix length ${bad}`, () => {
      assert.throws(
        () => resolveClientKeyOptions({ ipv6PrefixLength: bad }, 'rateLimit.ipv6PrefixLength'),
        (error: unknown) =>
          error instanceof HardenConfigError &&
          error.option === 'rateLimit.ipv6PrefixLength' &&
          error.message.includes('the IPv6 prefix length must be an integer from 1 to 128'),
      );
    });
  }
});
