import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isTollgateError } from '../kernel/errors.js';
import { checkRecordBounds, dedupKeyOf, parseSourceDefinition } from './source.js';
import type { UsageInput } from './model.js';

const base = {
  name: 'msc-berlin',
  format: 'asterisk-csv',
  timeZone: 'Europe/Berlin',
  numbering: { countryCode: '49', nationalPrefix: '0', internationalPrefixes: ['00'] },
};

function failsWith(value: unknown, field: string, message: RegExp): void {
  assert.throws(
    () => parseSourceDefinition(value),
    (error: unknown) => {
      assert.ok(isTollgateError(error));
      assert.equal(error.code, 'usage.invalid_source');
      assert.equal(error.field, field);
      assert.match(error.message, message);
      return true;
    },
  );
}

const call: UsageInput = {
  service: 'voice',
  identityType: 'msisdn',
  identity: '4915120000001',
  startMs: Date.UTC(2026, 10, 28, 9, 0),
  durationSec: 125,
  volumeUpBytes: 0,
  volumeDownBytes: 0,
  count: 0,
  calledNumber: '493012345678',
  roaming: false,
};
const NOW = Date.UTC(2026, 10, 29, 12, 0);

describe('usage source definitions', () => {
  it('fills in defaults', () => {
    const source = parseSourceDefinition(base);
    assert.equal(source.identityType, 'msisdn');
    assert.equal(source.dedup.mode, 'record-id');
    assert.equal(source.dedup.windowDays, 45);
    assert.equal(source.bounds.maxDurationSec, 172_800);
  });

  it('names the field of every mistake', () => {
    failsWith({ ...base, name: 'bad name!' }, 'name', /letters, digits/);
    failsWith({ ...base, format: 'xml' }, 'format', /must be one of/);
    failsWith({ ...base, timeZone: 'Mars/Olympus' }, 'timeZone', /IANA/);
    failsWith({ ...base, numbering: { countryCode: '049' } }, 'numbering.countryCode', /1 to 3 digits/);
    failsWith({ ...base, format: 'csv' }, 'mapping', /required/);
    failsWith({ ...base, bounds: { maxDurationSec: -1 } }, 'bounds.maxDurationSec', /positive whole/);
    failsWith({ ...base, bounds: { maxSpeed: 1 } }, 'bounds.maxSpeed', /not a known bound/);
    failsWith({ ...base, dedup: { fingerprint: ['colour'] } }, 'dedup.fingerprint', /non-empty list/);
    failsWith({ ...base, colour: 'red' }, 'colour', /not a known field/);
  });

  it('checks bounds, future and late events against the time of import', () => {
    const source = parseSourceDefinition({ ...base, bounds: { maxDurationSec: 3600 } });
    assert.equal(checkRecordBounds(call, source, NOW), undefined);
    assert.equal(checkRecordBounds({ ...call, durationSec: 3601 }, source, NOW)?.reason, 'out_of_bounds');
    assert.equal(checkRecordBounds({ ...call, durationSec: -1 }, source, NOW)?.field, 'durationSec');
    assert.equal(checkRecordBounds({ ...call, volumeUpBytes: -5 }, source, NOW)?.field, 'volumeUpBytes');
    // 300 s of clock skew are tolerated, 301 are not.
    assert.equal(checkRecordBounds({ ...call, startMs: NOW + 300_000 }, source, NOW), undefined);
    assert.equal(checkRecordBounds({ ...call, startMs: NOW + 301_000 }, source, NOW)?.reason, 'future_event');
    assert.equal(
      checkRecordBounds({ ...call, startMs: NOW - 46 * 86_400_000 }, source, NOW)?.reason,
      'stale_event',
    );
  });

  it('keys records by their own id, else by their fingerprint', () => {
    const source = parseSourceDefinition(base);
    assert.equal(dedupKeyOf({ ...call, sourceRecordId: 'abc' }, source.dedup), 'r|abc');
    const key = dedupKeyOf(call, source.dedup);
    assert.ok(key.startsWith('f|voice|4915120000001|'));
    assert.notEqual(key, dedupKeyOf({ ...call, durationSec: 126 }, source.dedup));
    const byFingerprint = parseSourceDefinition({ ...base, dedup: { mode: 'fingerprint' } });
    assert.ok(dedupKeyOf({ ...call, sourceRecordId: 'abc' }, byFingerprint.dedup).startsWith('f|'));
  });
});
