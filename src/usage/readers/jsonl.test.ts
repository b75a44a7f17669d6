import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createJsonLinesReader } from './jsonl.js';
import { readAll, records, rejects } from './text-fixtures.js';

const lines = [
  '{"service":"data","identity":"0151 2345678","start":"2026-03-29T03:00:00+02:00","durationSec":600,"volumeUpBytes":"1048576","volumeDownBytes":52428800,"apn":"internet","ratingGroup":10,"roaming":true,"visitedMccMnc":"20801","sourceRecordId":"pgw-1:42"}',
  '',
  '{"service":"content","identity":"491512345678","startMs":1774746005000,"price":{"amount":"0.99","currency":"EUR"},"eventType":"ringtone"}',
  '{"service":"voice","identity":"491512345678","start":"2026-03-29T03:00:00+02:00","durationSec":1.5}',
  '{"service":"sms","identity":"491512345678","start":"2026-03-29T03:00:00"}',
  '{"service":"content","identity":"491512345678","start":"2026-03-29T01:00:00Z","price":{"amount":0.99,"currency":"EUR"}}',
  '{"service":"sms","identity":"491512345678","start":"2026-03-29T01:00:00Z","colour":"red"}',
  '{"service":"sms","start":"2026-03-29T01:00:00Z"}',
  '{"service":"sms",',
  '',
].join('\n');

describe('JSON lines', () => {
  it('reads records and rejects each bad line naming the field', async () => {
    const items = await readAll(createJsonLinesReader(), lines);
    const [data, content] = records(items);
    assert.deepEqual(data?.input, {
      service: 'data',
      identityType: 'msisdn',
      identity: '491512345678',
      startMs: Date.parse('2026-03-29T01:00:00Z'),
      durationSec: 600,
      volumeUpBytes: 1_048_576,
      volumeDownBytes: 52_428_800,
      count: 0,
      roaming: true,
      apn: 'internet',
      ratingGroup: 10,
      visitedMccMnc: '20801',
      sourceRecordId: 'pgw-1:42',
    });
    assert.deepEqual(content?.input.price, { amount: '0.99', currency: 'EUR' });
    assert.equal(content?.input.count, 1);
    assert.equal(content?.position.line, 3);
    assert.deepEqual(
      rejects(items).map((r) => [r.position.line, r.reason, r.field]),
      [
        [4, 'unparseable', 'durationSec'],
        [5, 'unparseable', 'start'],
        [6, 'unparseable', 'price.amount'],
        [7, 'unparseable', 'colour'],
        [8, 'missing_field', 'identity'],
        [9, 'malformed_record', undefined],
      ],
    );
    assert.match(
      rejects(items)[1]?.message ?? '',
      /^switch-a line 5: start "2026-03-29T03:00:00" has no UTC offset/,
    );
  });
  it('is the same in 1-byte chunks', async () => {
    assert.deepEqual(
      await readAll(createJsonLinesReader(), lines, { sizes: [1] }),
      await readAll(createJsonLinesReader(), lines),
    );
  });
});
