import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isTollgateError } from '../../kernel/errors.js';
import { createClientTable, parseAddress } from './clients.js';

describe('radius clients table', () => {
  const table = createClientTable([
    { address: '10.20.0.0/16', secret: 'pool-secret', name: 'bng-pool' },
    { address: '10.20.3.4', secret: 'host-secret', name: 'bng-3-4' },
    { address: '192.0.2.10', secret: 'nas-secret' },
    { address: '2001:db8:100::/48', secret: 'v6-pool', name: 'v6' },
  ]);

  it('matches exact addresses and CIDR blocks, the most specific entry first', () => {
    assert.equal(table.lookup('10.20.3.4')?.name, 'bng-3-4');
    assert.equal(table.lookup('10.20.3.5')?.name, 'bng-pool');
    assert.equal(Buffer.from(table.lookup('10.20.3.5')!.secret).toString(), 'pool-secret');
    assert.equal(table.lookup('192.0.2.10')?.name, '192.0.2.10');
    assert.equal(table.lookup('10.21.0.1'), undefined);
    assert.equal(table.lookup('192.0.2.11'), undefined);
    assert.equal(table.size, 4);
  });

  it('matches IPv6 blocks and IPv4-mapped sources', () => {
    assert.equal(table.lookup('2001:db8:100:ffff::1')?.name, 'v6');
    assert.equal(table.lookup('2001:db8:101::1'), undefined);
    assert.equal(table.lookup('::ffff:10.20.3.4')?.name, 'bng-3-4');
    assert.equal(table.lookup('not an address'), undefined);
  });

  it('parses IPv6 forms', () => {
    assert.deepEqual(parseAddress('::1'), { family: 6, value: 1n });
    assert.deepEqual(parseAddress('2001:db8::'), { family: 6, value: 0x20010db8n << 96n });
    assert.deepEqual(parseAddress('64:ff9b::192.0.2.1'), {
      family: 6,
      value: (0x64ff9bn << 96n) | 0xc0000201n,
    });
    assert.deepEqual(parseAddress('fe80::1%eth0'), { family: 6, value: (0xfe80n << 112n) | 1n });
    assert.equal(parseAddress('1:2:3:4:5:6:7:8:9'), undefined);
  });

  it('refuses bad entries, naming them and never echoing the secret', () => {
    for (const entry of [
      { address: '10.0.0.300', secret: 's' },
      { address: '10.0.0.0/33', secret: 's' },
      { address: '10.0.0.0/x', secret: 's' },
      { address: '10.0.0.1', secret: '' },
    ]) {
      assert.throws(
        () => createClientTable([entry]),
        (error: unknown) => isTollgateError(error) && error.code === 'common.invalid_config',
      );
    }
    assert.throws(
      () =>
        createClientTable([
          { address: '10.0.0.0/8', secret: 'top-secret-1' },
          { address: '10.1.2.3/8', secret: 'top-secret-2' },
        ]),
      (error: unknown) =>
        isTollgateError(error) && /twice/.test(error.message) && !/top-secret/.test(error.message),
    );
  });
});
