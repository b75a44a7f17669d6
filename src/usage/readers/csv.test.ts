import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isTollgateError } from '../../kernel/errors.js';
import { createCsvReader } from './csv.js';
import { validateCsvMapping } from './mapping.js';
import { readAll, records, rejects } from './text-fixtures.js';

const mapping = {
  header: true,
  columns: ['id', 'type', 'msisdn', 'other', 'start', 'duration', 'up', 'down', 'cell', 'roaming'],
  fields: {
    sourceRecordId: 'id',
    service: { column: 'type', map: { VOICE: 'voice', SMS: 'sms', GPRS: 'data' } },
    identity: 'msisdn',
    calledNumber: { column: 'other', optional: true },
    startMs: { column: 'start', format: 'datetime' },
    durationSec: { column: 'duration', optional: true },
    volumeUpBytes: { column: 'up', unit: 'kB', optional: true },
    volumeDownBytes: { column: 'down', unit: 'KiB', optional: true },
    cellId: { column: 'cell', optional: true },
    roaming: { column: 'roaming', optional: true, default: false },
  },
  extra: { cell: 'cell' },
};

const file =
  'id,type,msisdn,other,start,duration,up,down,cell,roaming\n' +
  'c1,VOICE,0151 2345678,+44 20 7946 0000,2026-03-29 01:59:30,120,,,26201-77,N\n' +
  'c2,SMS,491512345678,030 1234567,2026-03-29 03:00:10,,,,,\n' +
  'c3,GPRS,491512345678,,2026-10-25 02:30:00,3600,1.5,2,26201-78,Y\n';

describe('generic CSV with a mapping', () => {
  it('reads voice, SMS and data records with units, defaults and DST-correct times', async () => {
    const items = await readAll(createCsvReader(mapping), file);
    assert.equal(rejects(items).length, 0);
    const [voice, sms, data] = records(items).map((item) => item.input);
    assert.deepEqual(voice, {
      service: 'voice',
      identityType: 'msisdn',
      identity: '491512345678',
      startMs: Date.parse('2026-03-29T00:59:30Z'),
      durationSec: 120,
      volumeUpBytes: 0,
      volumeDownBytes: 0,
      count: 0,
      roaming: false,
      calledNumber: '442079460000',
      cellId: '26201-77',
      sourceRecordId: 'c1',
      extra: { cell: '26201-77' },
    });
    assert.equal(sms?.service, 'sms');
    assert.equal(sms?.count, 1);
    assert.equal(sms?.calledNumber, '49301234567');
    assert.equal(sms?.startMs, Date.parse('2026-03-29T01:00:10Z'));
    assert.equal(data?.volumeUpBytes, 1500);
    assert.equal(data?.volumeDownBytes, 2048);
    assert.equal(data?.roaming, true);
    assert.equal(data?.startMs, Date.parse('2026-10-25T00:30:00Z'));
    assert.deepEqual(
      records(items).map((item) => item.position.line),
      [2, 3, 4],
    );
  });

  it('rejects bad records with reason, field and a message naming source, line and column', async () => {
    const bad =
      'id,type,msisdn,other,start,duration,up,down,cell,roaming\n' +
      'c1,VOICE,0151 2345678,,2026-03-29 01:59:30,12.5,,,,\n' +
      'c2,FAX,491512345678,,2026-03-29 01:59:30,1,,,,\n' +
      'c3,VOICE,,,2026-03-29 01:59:30,1,,,,\n' +
      'c4,VOICE,491512345678,,2026-03-29 01:59:30,1,,,\n' +
      'c5,VOICE,491512345678,,2026-03-29 01:59:30,1,,,,,\n' +
      'c6,VOICE,49151ABC,,2026-03-29 01:59:30,1,,,,\n' +
      'c7,VOICE,491512345678,,29.03.2026,1,,,,\n';
    const found = rejects(await readAll(createCsvReader(mapping), bad));
    assert.deepEqual(
      found.map((r) => [r.position.line, r.reason, r.field]),
      [
        [2, 'unparseable', 'column 6 (duration)'],
        [3, 'unparseable', 'column 2 (type)'],
        [4, 'missing_field', 'column 3 (msisdn)'],
        [5, 'malformed_record', undefined],
        [6, 'malformed_record', undefined],
        [7, 'unparseable', 'column 3 (msisdn)'],
        [8, 'unparseable', 'column 5 (start)'],
      ],
    );
    assert.equal(
      found[0]?.message,
      'switch-a line 2: column 6 (duration) (durationSec) "12.5" is not a whole number',
    );
    assert.match(
      found[3]?.message ?? '',
      /^switch-a line 5: has 9 columns; the mapping expects 10 \(too few\)$/,
    );
    assert.match(found[4]?.message ?? '', /has 11 columns; the mapping expects 10 \(too many\)/);
    assert.match(found[5]?.message ?? '', /letters/);
  });

  it('rejects a used field that is not valid UTF-8, naming the column', async () => {
    const bytes = Buffer.concat([
      Buffer.from('c1,VOICE,491512345678,,2026-03-29 01:59:30,1,,,'),
      Buffer.from([0xff, 0xfe]),
      Buffer.from(',\n'),
    ]);
    const [reject] = rejects(await readAll(createCsvReader({ ...mapping, header: false }), bytes));
    assert.equal(reject?.reason, 'unparseable');
    assert.equal(reject?.field, 'column 9 (cell)');
    assert.match(
      reject?.message ?? '',
      /column 9 \(cell\) \(cellId\) is not valid UTF-8 \(a Latin-1 file\? .*"encoding": "latin1"\)/,
    );
  });

  it('resumes mid-file with column names from the mapping (no header line then)', async () => {
    const whole = await readAll(createCsvReader(mapping), file);
    const second = whole[1]!;
    const resumed = await readAll(
      createCsvReader(mapping),
      Buffer.from(file).subarray(second.position.byteOffset),
      {
        start: second.position,
      },
    );
    assert.deepEqual(resumed, whole.slice(1));
  });

  it('takes names from the header line alone, and says why it cannot resume without them', async () => {
    const headerOnly = { ...mapping, columns: undefined };
    const items = await readAll(createCsvReader(headerOnly), file);
    assert.equal(records(items).length, 3);
    const second = items[1]!;
    const resumed = await readAll(
      createCsvReader(headerOnly),
      Buffer.from(file).subarray(second.position.byteOffset),
      {
        start: second.position,
      },
    );
    assert.equal(rejects(resumed).length, 2);
    assert.match(rejects(resumed)[0]?.message ?? '', /add mapping.columns/);
  });

  it('rejects a header line that differs from mapping.columns and reads on by the mapping', async () => {
    const items = await readAll(createCsvReader(mapping), file.replace('msisdn', 'caller'));
    assert.equal(rejects(items)[0]?.position.line, 1);
    assert.match(rejects(items)[0]?.message ?? '', /column 3 is "caller", the mapping says "msisdn"/);
    assert.equal(records(items).length, 3);
  });

  it('reads TSV, column numbers, constants, epoch times and quoted fields', async () => {
    const reader = createCsvReader(
      {
        columnCount: 4,
        fields: {
          service: { value: 'data' },
          identity: 1,
          startMs: { column: 2, format: 'epoch-us' },
          volumeDownBytes: { column: 3, unit: 'MB' },
          apn: 4,
        },
      },
      'tsv',
    );
    const items = await readAll(reader, '491512345678\t1774747800123456\t2\t"internet\tapn"\r\n');
    const [record] = records(items);
    assert.equal(record?.input.startMs, 1_774_747_800_123);
    assert.equal(record?.input.volumeDownBytes, 2_000_000);
    assert.equal(record?.input.apn, 'internet\tapn');
    assert.equal(record?.input.service, 'data');
  });

  it('validates mappings with errors naming the path', () => {
    const problems = (value: unknown): string[] => {
      try {
        validateCsvMapping(value, 'csv', 'switch-a');
        return [];
      } catch (error) {
        assert.ok(isTollgateError(error));
        return (error.errors ?? []).map((e) => e.field);
      }
    };
    assert.deepEqual(problems(mapping), []);
    assert.deepEqual(
      problems({
        delimiter: ';;',
        columns: ['a', 'b'],
        fields: {
          service: { column: 'a', value: 'voice' },
          identity: 'missing',
          startMs: { column: 2, format: 'dd.mm.yyyy' },
          durationSec: { column: 1, unit: 'MB' },
          colour: 1,
        },
      }),
      [
        'mapping.delimiter',
        'mapping.fields.service',
        'mapping.fields.identity',
        'mapping.fields.startMs.format',
        'mapping.fields.durationSec.unit',
        'mapping.fields.colour',
      ],
    );
    assert.deepEqual(problems({ fields: { identity: 1, startMs: 2 } }), ['mapping.fields.service']);
  });
});
