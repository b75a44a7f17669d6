import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  READ_FROM_START,
  type ReadItem,
  type ReadStart,
  type ReaderSettings,
  type UsageReader,
} from '../../model.js';
import { createBerReader, looksLike3gppCdrFile, readBerCdrFile } from './index.js';
import {
  FILE_HEADER_LENGTH,
  chunked,
  constructed,
  encodeCdr,
  encodeCdrFile,
  encodeChfRecord,
  encodePgwRecord,
  encodeUli,
  primitive,
  type ChfRecordSpec,
  type PgwRecordSpec,
} from './fixtures.js';
import { toHex } from './fields.js';

const settings: ReaderSettings = {
  source: 'pgw-test',
  numbering: { countryCode: '49', nationalPrefix: '0', internationalPrefixes: ['00'] },
  timeZone: 'Europe/Berlin',
  identityType: 'msisdn',
};

async function readAll(
  bytes: Uint8Array,
  options: { sizes?: readonly number[]; start?: ReadStart; reader?: UsageReader } = {},
): Promise<ReadItem[]> {
  const items: ReadItem[] = [];
  const reader = options.reader ?? readBerCdrFile;
  for await (const batch of reader(
    chunked(bytes, options.sizes),
    settings,
    options.start ?? READ_FROM_START,
  )) {
    assert.ok(batch.length > 0, 'batches are never empty');
    items.push(...batch);
  }
  return items;
}

function records(items: readonly ReadItem[]) {
  return items.flatMap((item) => (item.kind === 'record' ? [item] : []));
}

function rejects(items: readonly ReadItem[]) {
  return items.flatMap((item) => (item.kind === 'reject' ? [item] : []));
}

const T0 = Date.parse('2024-03-15T09:00:00Z');

const pgw: PgwRecordSpec = {
  imsi: '262011234567890',
  msisdn: '491720000001',
  pgwAddress: '192.0.2.10',
  chargingId: 4_000_000_001,
  apn: 'internet',
  opening: { utcMs: T0, offsetMinutes: 60 },
  duration: 600,
  sequence: 3,
  servingPlmn: '26201',
  ratType: 6,
  uli: encodeUli({ mccMnc: '26201', tac: 0x1234, eci: 0xabcdef }),
  qci: 9,
  services: [
    {
      ratingGroup: 10,
      uplink: 1_000,
      downlink: 20_000,
      timeUsage: 300,
      firstUsage: { utcMs: T0 + 5_000, offsetMinutes: 60 },
    },
    { ratingGroup: 20, uplink: 5, downlink: 7, qci: 5 },
  ],
};

const chf: ChfRecordSpec = {
  nodeId: 'chf-frankfurt-1',
  subscriber: { type: 1, data: 'imsi-262019876543210' },
  gpsi: 'msisdn-491730000002',
  opening: { utcMs: T0 + 60_000, offsetMinutes: -300 },
  duration: 120,
  sequence: 1,
  chargingId: 77,
  snssai: { sst: 1, sd: '0000a1' },
  supiPlmn: '26201',
  servingPlmn: '26201',
  ratType: 51,
  dnn: 'ims.example',
  fiveQi: 8,
  usage: [
    {
      ratingGroup: 100,
      containers: [
        { uplink: 11, downlink: 22, time: 60, fiveQi: 7 },
        { total: 500, uplink: 100 },
      ],
    },
    { ratingGroup: 200, containers: [{ uplink: 1, downlink: 2, firstUsage: { utcMs: T0 + 90_000 } }] },
  ],
};

const session: PgwRecordSpec = {
  imsi: '262015550000001',
  chargingId: 9,
  opening: { utcMs: T0 },
  duration: 42,
  trafficVolumes: [
    { uplink: 100, downlink: 1_000 },
    { uplink: 50, downlink: 500 },
  ],
};

describe('TS 32.297 BER reader: valid files', () => {
  it('reads PGW-CDR and CHF-CDR containers and a session record, with positions and raw CDRs', async () => {
    const cdrs = [
      encodeCdr(encodePgwRecord(pgw)),
      encodeCdr(encodeChfRecord(chf), { tsNumber: 20 }),
      encodeCdr(encodePgwRecord(session)),
    ];
    const items = await readAll(encodeCdrFile(cdrs));
    assert.equal(rejects(items).length, 0, JSON.stringify(rejects(items)));
    const read = records(items);
    assert.equal(read.length, 2 + 3 + 1);

    const offsets = [
      FILE_HEADER_LENGTH,
      FILE_HEADER_LENGTH + cdrs[0]!.length,
      FILE_HEADER_LENGTH + cdrs[0]!.length + cdrs[1]!.length,
    ];
    assert.deepEqual(
      read.map((r) => [r.position.line, r.position.byteOffset]),
      [
        [1, offsets[0]],
        [1, offsets[0]],
        [2, offsets[1]],
        [2, offsets[1]],
        [2, offsets[1]],
        [3, offsets[2]],
      ],
    );
    assert.equal(read[0]!.raw, toHex(cdrs[0]!));
    assert.equal(read[2]!.raw, toHex(cdrs[1]!));

    const [first, second] = [read[0]!.input, read[1]!.input];
    assert.deepEqual(first, {
      service: 'data',
      identityType: 'msisdn',
      identity: '491720000001',
      startMs: T0 + 5_000,
      durationSec: 300,
      volumeUpBytes: 1_000,
      volumeDownBytes: 20_000,
      count: 0,
      apn: 'internet',
      ratingGroup: 10,
      cellId: `26201-${0xabcdef}`,
      roaming: false,
      qos: '9',
      sourceRecordId: '192.0.2.10/4000000001:3:1',
      extra: {
        cdrType: 'PGW-CDR',
        chargingId: '4000000001',
        recordSequenceNumber: '3',
        nodeAddress: '192.0.2.10',
        causeForRecClosing: '0',
        ratType: 'EUTRAN',
        imsi: '262011234567890',
        tai: `26201-${0x1234}`,
      },
    });
    assert.equal(second.startMs, T0, 'a container without first usage starts at the record opening time');
    assert.equal(second.ratingGroup, 20);
    assert.equal(second.qos, '5', "the container's negotiated QCI wins over the record's");
    assert.equal(second.sourceRecordId, '192.0.2.10/4000000001:3:2');

    const [c1, c2, c3] = [read[2]!.input, read[3]!.input, read[4]!.input];
    assert.equal(c1.identityType, 'msisdn');
    assert.equal(c1.identity, '491730000002');
    assert.equal(c1.startMs, T0 + 60_000, 'the -05:00 local opening time is converted to UTC');
    assert.equal(c1.apn, 'ims.example');
    assert.equal(c1.snssai, '1-0000a1');
    assert.equal(c1.qos, '7');
    assert.equal(c1.durationSec, 60);
    assert.equal(c1.ratingGroup, 100);
    assert.equal(c1.roaming, false);
    assert.equal(c1.sourceRecordId, 'chf-frankfurt-1/77:1:1');
    assert.equal(c1.extra?.imsi, '262019876543210');
    assert.equal(c1.extra?.ratType, 'NR');
    assert.deepEqual(
      [c2.volumeUpBytes, c2.volumeDownBytes, c2.qos],
      [100, 400, '8'],
      'total minus uplink is downlink',
    );
    assert.deepEqual(
      [c3.ratingGroup, c3.startMs, c3.sourceRecordId],
      [200, T0 + 90_000, 'chf-frankfurt-1/77:1:3'],
    );

    const totals = read[5]!.input;
    assert.deepEqual(
      [
        totals.identityType,
        totals.identity,
        totals.durationSec,
        totals.volumeUpBytes,
        totals.volumeDownBytes,
        totals.ratingGroup,
      ],
      ['imsi', '262015550000001', 42, 150, 1_500, undefined],
    );
    assert.equal(totals.sourceRecordId, '10.0.0.1/9:0:0');
  });

  it('judges roaming from the serving PLMN against the home network', async () => {
    const visiting = encodeCdr(encodePgwRecord({ ...pgw, servingPlmn: '20810', uli: undefined }));
    const secondHomePlmn = encodeCdr(encodePgwRecord({ ...pgw, servingPlmn: '26202', uli: undefined }));
    const fromUli = encodeCdr(
      encodePgwRecord({
        ...pgw,
        servingPlmn: undefined,
        uli: encodeUli({ mccMnc: '310260', tac: 1, eci: 2 }),
      }),
    );
    const chfAbroad = encodeCdr(encodeChfRecord({ ...chf, servingPlmn: '23415' }));
    const chfOutbound = encodeCdr(
      encodeChfRecord({ ...chf, servingPlmn: undefined, supiPlmn: undefined, roamerInOut: 1 }),
    );
    const file = encodeCdrFile([visiting, secondHomePlmn, fromUli, chfAbroad, chfOutbound]);

    const byLine = (items: ReadItem[]) => new Map(records(items).map((r) => [r.position.line, r.input]));
    const plain = byLine(await readAll(file));
    assert.deepEqual([plain.get(1)!.roaming, plain.get(1)!.visitedMccMnc], [true, '20810']);
    assert.deepEqual(
      [plain.get(2)!.roaming, plain.get(2)!.visitedMccMnc],
      [true, '26202'],
      'the IMSI says 262-01 is home',
    );
    assert.deepEqual([plain.get(3)!.roaming, plain.get(3)!.visitedMccMnc], [true, '310260']);
    assert.deepEqual([plain.get(4)!.roaming, plain.get(4)!.visitedMccMnc], [true, '23415']);
    assert.deepEqual([plain.get(5)!.roaming, plain.get(5)!.visitedMccMnc], [true, undefined]);
    assert.equal(plain.get(5)!.extra?.roamerInOut, 'outbound');

    const configured = byLine(
      await readAll(file, { reader: createBerReader({ homeMccMncs: ['26201', '26202'] }) }),
    );
    assert.equal(configured.get(2)!.roaming, false, 'a configured second home PLMN is home');
    assert.equal(configured.get(1)!.roaming, true);
  });

  it('normalises national and unknown-type MSISDNs with the numbering plan', async () => {
    const national = encodeCdr(encodePgwRecord({ ...pgw, msisdn: '1720000009', msisdnTypeOctet: 0xa1 }));
    const unknownWithTrunk = encodeCdr(
      encodePgwRecord({ ...pgw, msisdn: '01720000008', msisdnTypeOctet: 0x81 }),
    );
    const unknownInternational = encodeCdr(
      encodePgwRecord({ ...pgw, msisdn: '00441234567890', msisdnTypeOctet: 0x81 }),
    );
    const tooShort = encodeCdr(encodePgwRecord({ ...pgw, msisdn: '12', services: [{ ratingGroup: 1 }] }));
    const read = records(
      await readAll(encodeCdrFile([national, unknownWithTrunk, unknownInternational, tooShort])),
    );
    const byLine = new Map(read.map((r) => [r.position.line, r.input]));
    assert.equal(byLine.get(1)!.identity, '491720000009');
    assert.equal(byLine.get(2)!.identity, '491720000008');
    assert.equal(byLine.get(3)!.identity, '441234567890');
    assert.deepEqual([byLine.get(4)!.identityType, byLine.get(4)!.identity], ['imsi', '262011234567890']);
    assert.match(byLine.get(4)!.extra?.msisdnProblem ?? '', /servedMSISDN 12 is not an E.164 number/);
  });

  it('resumes from a CDR header offset with its record number', async () => {
    const cdrs = [
      encodeCdr(encodePgwRecord(pgw)),
      encodeCdr(encodeChfRecord(chf)),
      encodeCdr(encodePgwRecord(session)),
    ];
    const file = encodeCdrFile(cdrs);
    const all = await readAll(file);
    const second = all.find((item) => item.position.line === 2)!;
    const offset = second.position.byteOffset;
    const resumed = await readAll(file.slice(offset), { start: { byteOffset: offset, line: 2 }, sizes: [7] });
    assert.deepEqual(
      resumed,
      all.filter((item) => item.position.line >= 2),
    );
  });

  it('gives the same items whatever the chunk boundaries', async () => {
    const cdrs = [
      encodeCdr(encodePgwRecord(pgw)),
      encodeCdr(Uint8Array.from([0xff, 0xff, 0xff])),
      encodeCdr(encodeChfRecord(chf), { release: 8 }),
      encodeCdr(encodePgwRecord(session)),
    ];
    const file = encodeCdrFile(cdrs);
    const whole = await readAll(file);
    assert.equal(records(whole).length, 6);
    assert.equal(rejects(whole).length, 1);
    assert.deepEqual(await readAll(file, { sizes: [1] }), whole);
    assert.deepEqual(await readAll(file, { sizes: [3, 7, 13, 1, 64] }), whole);
    for (let split = 1; split < file.length; split++) {
      const items: ReadItem[] = [];
      const halves = async function* () {
        yield file.slice(0, split);
        yield file.slice(split);
      };
      for await (const batch of readBerCdrFile(halves(), settings, READ_FROM_START)) items.push(...batch);
      assert.deepEqual(items, whole, `split at byte ${split}`);
    }
  });

  it('sniffs 32.297 files', () => {
    const file = encodeCdrFile([encodeCdr(encodePgwRecord(pgw))]);
    assert.equal(looksLike3gppCdrFile(file), true);
    assert.equal(looksLike3gppCdrFile(file.slice(0, 200)), true);
    assert.equal(looksLike3gppCdrFile(encodeCdrFile([])), true, 'a file of no CDRs');
    assert.equal(looksLike3gppCdrFile(file.slice(0, 40)), false);
    assert.equal(
      looksLike3gppCdrFile(new TextEncoder().encode('caller,callee,start,duration\n'.repeat(5))),
      false,
    );
    assert.equal(looksLike3gppCdrFile(encodePgwRecord(pgw)), false, 'a bare BER record has no file header');
    const perFile = encodeCdrFile([encodeCdr(encodePgwRecord(pgw), { format: 2 })]);
    assert.equal(looksLike3gppCdrFile(perFile), true);
    const corrupted = file.slice();
    corrupted[FILE_HEADER_LENGTH + 3] = 0x07; // data record format 0
    assert.equal(looksLike3gppCdrFile(corrupted), false);
  });
});

describe('TS 32.297 BER reader: bad input becomes rejects', () => {
  const good = encodeCdr(encodePgwRecord(pgw));
  const goodChf = encodeCdr(encodeChfRecord(chf));

  function only(items: ReadItem[]) {
    const found = rejects(items);
    assert.equal(found.length, 1, JSON.stringify(found, null, 1));
    return found[0]!;
  }

  it('refuses garbage BER, wrong tags, unknown record types and PER, and reads on', async () => {
    // The outer TLV says 8 octets, the CDR length 6: the framing is lost and found again.
    const misframed = encodeCdr(Uint8Array.from([0xbf, 0x4f, 0x05, 0x80, 0x09, 0x01]));
    // Framed consistently, but the inner [0] claims 5 octets where 2 are left.
    const garbageInside = encodeCdr(Uint8Array.from([0xbf, 0x4f, 0x04, 0x80, 0x05, 0x01, 0x02]));
    const universal = encodeCdr(Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x05]));
    const sgw = encodeCdr(new Uint8Array(constructed(78, [primitive(0, Uint8Array.from([84]))]).toBER()));
    const unknown = encodeCdr(new Uint8Array(constructed(150, [primitive(0, Uint8Array.from([1]))]).toBER()));
    const per = encodeCdr(encodePgwRecord(pgw), { format: 2 });
    const trailing = encodeCdr(Uint8Array.from([...encodePgwRecord(pgw), 0x00, 0x00]));
    const file = encodeCdrFile([
      misframed,
      good,
      universal,
      sgw,
      unknown,
      per,
      trailing,
      garbageInside,
      goodChf,
    ]);
    const items = await readAll(file, { sizes: [5] });
    const found = rejects(items);
    assert.deepEqual(
      found.map((r) => [r.position.line, r.reason, r.field]),
      [
        [1, 'malformed_record', 'CDR length'],
        [3, 'malformed_record', 'record type'],
        [4, 'unsupported_record', 'record type'],
        [5, 'unsupported_record', 'record type'],
        [6, 'unsupported_record', 'data record format'],
        [7, 'malformed_record', 'CDR length'],
        [8, 'malformed_record', 'BER'],
      ],
    );
    assert.equal(
      found[0]!.message,
      'pgw-test: record 1 at byte 54: CDR length of the CDR at byte 54 is 6 but its BER record is 8 octets long; 11 octet(s) were skipped to the next plausible CDR header',
    );
    assert.equal(found[0]!.raw, toHex(misframed));
    assert.match(found[1]!.message, /outer tag \[UNIVERSAL 16\] is not the context-specific constructed tag/);
    assert.match(
      found[2]!.message,
      /sGWRecord \(SGW-CDR\) \[78\] is a TS 32\.298 record Tollgate does not rate/,
    );
    assert.match(found[4]!.message, /unaligned PER \(2\); this reader decodes BER \(1\) only/);
    assert.match(found[5]!.message, /is \d+ but its BER record is \d+ octets long/);
    assert.equal(found[5]!.raw, toHex(trailing));
    assert.match(
      found[6]!.message,
      /^pgw-test: record 8 at byte \d+ \(TS 32\.251 record\): the record is not valid BER/,
    );
    assert.equal(found[6]!.raw, toHex(garbageInside));
    assert.deepEqual(
      [...new Set(records(items).map((r) => r.position.line))],
      [2, 9],
      'the records after each bad one are read',
    );
  });

  it('refuses a truncated last record (a CDR length past the end of the file)', async () => {
    const file = encodeCdrFile([good, goodChf]);
    const cut = file.slice(0, file.length - 10);
    const items = await readAll(cut, { sizes: [16] });
    assert.equal(records(items).length, 2);
    const reject = only(items);
    assert.deepEqual(
      [reject.position.line, reject.position.byteOffset, reject.reason, reject.field],
      [2, FILE_HEADER_LENGTH + good.length, 'malformed_record', 'CDR length'],
    );
    assert.match(
      reject.message,
      new RegExp(
        `record 2 at byte ${FILE_HEADER_LENGTH + good.length}: CDR length is ${goodChf.length - 5} but the file ends ${goodChf.length - 15} octet\\(s\\) into the record \\(truncated last record\\)`,
      ),
    );
    assert.equal(reject.raw, toHex(goodChf.slice(0, goodChf.length - 10)));

    // A BER record shows the CDR length is wrong before the file ends.
    const lying = encodeCdrFile([good, encodeCdr(encodePgwRecord(session), { length: 60_000 })]);
    const lyingReject = only(await readAll(lying));
    assert.equal(lyingReject.field, 'CDR length');
    assert.match(lyingReject.message, /is 60000 but its BER record is \d+ octets long/);

    // A PER record cannot be checked: only the end of the file shows it.
    const lyingPer = encodeCdrFile([
      good,
      encodeCdr(encodePgwRecord(session), { length: 60_000, format: 2 }),
    ]);
    const lyingPerReject = only(await readAll(lyingPer, { sizes: [100] }));
    assert.equal(lyingPerReject.field, 'CDR length');
    assert.match(
      lyingPerReject.message,
      /CDR length is 60000 but the file ends \d+ octet\(s\) into the record \(truncated last record\)/,
    );

    const headerOnly = only(
      await readAll(encodeCdrFile([good, goodChf]).slice(0, FILE_HEADER_LENGTH + good.length + 3)),
    );
    assert.equal(headerOnly.field, 'CDR header');
  });

  it('finds the next record after a CDR length that is too short, and after garbage between records', async () => {
    const short = encodeCdr(encodePgwRecord(pgw), { length: 20 });
    const file = encodeCdrFile([short, goodChf]);
    const items = await readAll(file, { sizes: [1] });
    const reject = only(items);
    assert.equal(reject.field, 'CDR length');
    assert.match(reject.message, /is 20 but its BER record is \d+ octets long; \d+ octet\(s\) were skipped/);
    assert.equal(reject.raw, toHex(short));
    const chfRecords = records(items);
    assert.equal(chfRecords.length, 3);
    assert.equal(chfRecords[0]!.position.byteOffset, FILE_HEADER_LENGTH + short.length);
    assert.equal(chfRecords[0]!.position.line, 2);

    const noise = Uint8Array.from({ length: 37 }, (_, i) => ((i * 89 + 13) % 251) | 0x40);
    const withNoise = encodeCdrFile([good, noise, goodChf]);
    const noisy = await readAll(withNoise, { sizes: [4, 9] });
    const noiseReject = only(noisy);
    assert.deepEqual(
      [noiseReject.position.line, noiseReject.position.byteOffset],
      [2, FILE_HEADER_LENGTH + good.length],
    );
    assert.equal(noiseReject.raw, toHex(noise));
    assert.deepEqual([...new Set(records(noisy).map((r) => r.position.line))], [1, 3]);

    // Octets that read as a CDR header of no known format: the message names the field once, then
    // says what is wrong with it.
    const junk = Uint8Array.from({ length: 11 }, (_, i) => i + 1);
    const junkReject = only(await readAll(encodeCdrFile([good, junk, goodChf]), { sizes: [5] }));
    const at = FILE_HEADER_LENGTH + good.length;
    assert.equal(junkReject.field, 'CDR header');
    assert.equal(
      junkReject.message,
      `pgw-test: record 2 at byte ${at}: CDR header at byte ${at} is not valid (data record format 0, CDR length 258); ` +
        '11 octet(s) were skipped to the next plausible CDR header',
    );
  });

  it('skips filler padding silently', async () => {
    const padded = encodeCdrFile([good, new Uint8Array(100), goodChf, new Uint8Array(37).fill(0xff)]);
    const items = await readAll(padded, { sizes: [11] });
    assert.equal(rejects(items).length, 0);
    assert.equal(records(items).length, 5);
  });

  it('refuses records without a subscriber, with bad times, digits or numbers, naming the field', async () => {
    const cases: [PgwRecordSpec | ChfRecordSpec, 'pgw' | 'chf', string, string, RegExp][] = [
      [
        { ...pgw, imsi: undefined, msisdn: undefined },
        'pgw',
        'missing_field',
        'servedIMSI',
        /names no subscriber/,
      ],
      [
        { ...pgw, opening: undefined },
        'pgw',
        'missing_field',
        'recordOpeningTime',
        /recordOpeningTime is absent/,
      ],
      [
        { ...pgw, msisdn: undefined, imsi: undefined, imsiOctets: Uint8Array.from([0x62, 0xc2]) },
        'pgw',
        'unparseable',
        'servedIMSI',
        /servedIMSI holds the non-digit nibble 0xc in octet 2/,
      ],
      [
        { ...pgw, services: [{ ratingGroup: 1, uplink: 2n ** 60n }] },
        'pgw',
        'unparseable',
        'listOfServiceData[1].datavolumeFBCUplink',
        /does not fit a safe integer/,
      ],
      [
        { ...chf, subscriber: undefined, gpsi: undefined },
        'chf',
        'missing_field',
        'servedIMSI',
        /names no subscriber/,
      ],
      [
        { ...chf, snssai: { sst: 1, sd: 'aa' } },
        'chf',
        'unparseable',
        'pDUSessionChargingInformation.networkSliceInstanceID.sD',
        /has 1 octets/,
      ],
    ];
    for (const [spec, kind, reason, field, message] of cases) {
      const record =
        kind === 'pgw' ? encodePgwRecord(spec as PgwRecordSpec) : encodeChfRecord(spec as ChfRecordSpec);
      const items = await readAll(encodeCdrFile([encodeCdr(record), good]));
      const reject = only(items);
      assert.deepEqual([reject.reason, reject.field], [reason, field], reject.message);
      assert.match(reject.message, message);
      assert.match(reject.message, /^pgw-test: record 1 at byte 54/);
      assert.equal(records(items).length, 2);
    }

    const badTime = encodePgwRecord(pgw);
    const at = Buffer.from(badTime).indexOf(Buffer.from([0x8d, 0x09]));
    badTime[at + 3] = 0x13; // month 13
    const reject = only(await readAll(encodeCdrFile([encodeCdr(badTime)])));
    assert.deepEqual([reject.reason, reject.field], ['unparseable', 'recordOpeningTime']);
    assert.match(reject.message, /recordOpeningTime has month 13/);
  });

  it('refuses a broken file header and still finds the CDRs after it', async () => {
    const file = encodeCdrFile([good, goodChf]);
    file.set([0, 0, 0, 3], 4); // header length 3
    const items = await readAll(file);
    const found = rejects(items);
    assert.deepEqual([found[0]!.field, found[0]!.position.byteOffset], ['file header length', 0]);
    assert.match(found[0]!.message, /is 3; a TS 32\.297 file header has 52 to/);
    assert.equal(records(items).length, 5, 'both CDRs are found by resynchronising');

    assert.equal(only(await readAll(encodeCdrFile([]).slice(0, 5))).field, 'file header');
    assert.equal(only(await readAll(encodeCdrFile([]).slice(0, 30))).field, 'file header');
    assert.deepEqual(await readAll(new Uint8Array(0)), []);
  });

  it('never throws on random bytes after a valid header', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 600 }),
        fc.integer({ min: 1, max: 50 }),
        async (noise, size) => {
          const file = encodeCdrFile([good, noise, goodChf]);
          const items = await readAll(file, { sizes: [size] });
          for (const item of items) {
            assert.ok(
              item.position.byteOffset >= FILE_HEADER_LENGTH && item.position.byteOffset < file.length,
            );
            if (item.kind === 'reject') assert.match(item.message, /^pgw-test: record \d+ at byte \d+/);
          }
          assert.ok(
            records(items).some((r) => r.position.byteOffset === FILE_HEADER_LENGTH),
            'the first CDR is read',
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never throws on hostile nesting', async () => {
    const depth = 20_000;
    const nested = new Uint8Array(depth * 2 + 3);
    for (let i = 0; i < depth; i++) nested.set([0xa1, 0x80], i * 2);
    const cdr = encodeCdr(Uint8Array.from([0xbf, 0x4f, 0x80, ...nested.subarray(0, 60_000)]));
    const reject = only(await readAll(encodeCdrFile([cdr, good])));
    assert.equal(reject.reason, 'malformed_record');
  });
});

describe('TS 32.297 BER reader: property', () => {
  const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));
  const instant = fc
    .integer({
      min: Date.parse('2001-01-01T00:00:00Z') / 1000,
      max: Date.parse('2098-01-01T00:00:00Z') / 1000,
    })
    .map((s) => s * 1000);
  const offset = fc.integer({ min: -12, max: 14 }).map((h) => h * 60);
  const volume = fc.integer({ min: 0, max: 2 ** 40 });
  const plmn = fc.oneof(digits(5, 5), digits(6, 6)).filter((p) => p[0] !== '0');

  const pgwSpec = fc.record({
    imsi: fc.constantFrom('262011234567890', '208150000000001'),
    msisdn: fc.option(fc.stringMatching(/^[1-9][0-9]{7,14}$/), { nil: undefined }),
    chargingId: fc.integer({ min: 0, max: 4_294_967_295 }),
    sequence: fc.option(fc.integer({ min: 0, max: 1_000 }), { nil: undefined }),
    opening: fc.record({ utcMs: instant, offsetMinutes: offset }),
    duration: fc.integer({ min: 0, max: 86_400 }),
    servingPlmn: fc.option(plmn, { nil: undefined }),
    apn: fc.option(fc.stringMatching(/^[a-z][a-z0-9.]{0,20}$/), { nil: undefined }),
    services: fc.array(
      fc.record({
        ratingGroup: fc.integer({ min: 0, max: 4_294_967_295 }),
        uplink: volume,
        downlink: volume,
        timeUsage: fc.integer({ min: 0, max: 86_400 }),
        firstUsage: fc.record({ utcMs: instant, offsetMinutes: offset }),
        qci: fc.integer({ min: 1, max: 255 }),
      }),
      { maxLength: 4 },
    ),
  });

  it('decodes random valid PGW-CDRs to what was encoded', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(pgwSpec, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 97 }),
        async (specs, size) => {
          const file = encodeCdrFile(
            specs.map((s) => encodeCdr(encodePgwRecord({ ...s, pgwAddress: '10.9.8.7' }))),
          );
          const items = await readAll(file, { sizes: [size] });
          assert.equal(rejects(items).length, 0, JSON.stringify(rejects(items)));
          const expected = specs.flatMap((s, i): Record<string, unknown>[] => {
            const identity =
              s.msisdn !== undefined
                ? { identityType: 'msisdn', identity: s.msisdn }
                : { identityType: 'imsi', identity: s.imsi };
            const roaming = s.servingPlmn !== undefined && !s.imsi.startsWith(s.servingPlmn);
            const base = {
              line: i + 1,
              ...identity,
              apn: s.apn,
              roaming,
              visitedMccMnc: roaming ? s.servingPlmn : undefined,
            };
            const prefix = `10.9.8.7/${s.chargingId}:${s.sequence ?? 0}`;
            if (s.services.length === 0)
              return [
                {
                  ...base,
                  startMs: s.opening.utcMs,
                  durationSec: s.duration,
                  up: 0,
                  down: 0,
                  ratingGroup: undefined,
                  qos: undefined,
                  id: `${prefix}:0`,
                },
              ];
            return s.services.map((c, j) => ({
              ...base,
              startMs: c.firstUsage.utcMs,
              durationSec: c.timeUsage,
              up: c.uplink,
              down: c.downlink,
              ratingGroup: c.ratingGroup,
              qos: String(c.qci),
              id: `${prefix}:${j + 1}`,
            }));
          });
          assert.deepEqual(
            records(items).map(({ position, input }) => ({
              line: position.line,
              identityType: input.identityType,
              identity: input.identity,
              apn: input.apn,
              roaming: input.roaming,
              visitedMccMnc: input.visitedMccMnc,
              startMs: input.startMs,
              durationSec: input.durationSec,
              up: input.volumeUpBytes,
              down: input.volumeDownBytes,
              ratingGroup: input.ratingGroup,
              qos: input.qos,
              id: input.sourceRecordId,
            })),
            expected,
          );
        },
      ),
      { numRuns: 150 },
    );
  });

  it('decodes random valid CHF-CDRs to what was encoded', async () => {
    const chfSpec = fc.record({
      subscriber: fc.oneof(
        digits(15, 15).map((d) => ({ type: 1, data: `imsi-${d}` })),
        fc.stringMatching(/^[1-9][0-9]{7,14}$/).map((d) => ({ type: 0, data: d })),
      ),
      chargingId: fc.integer({ min: 0, max: 4_294_967_295 }),
      opening: fc.record({ utcMs: instant, offsetMinutes: offset }),
      snssai: fc.option(
        fc.record({
          sst: fc.integer({ min: 0, max: 255 }),
          sd: fc.option(fc.stringMatching(/^[0-9a-f]{6}$/), { nil: undefined }),
        }),
        { nil: undefined },
      ),
      usage: fc.array(
        fc.record({
          ratingGroup: fc.integer({ min: 0, max: 4_294_967_295 }),
          containers: fc.array(
            fc.record({ uplink: volume, downlink: volume, time: fc.integer({ min: 0, max: 86_400 }) }),
            { minLength: 1, maxLength: 3 },
          ),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    });
    await fc.assert(
      fc.asyncProperty(chfSpec, async (spec) => {
        const items = await readAll(
          encodeCdrFile([encodeCdr(encodeChfRecord({ ...spec, nodeId: 'chf-x' }))]),
          { sizes: [13] },
        );
        assert.equal(rejects(items).length, 0, JSON.stringify(rejects(items)));
        const expected = spec.usage.flatMap((u) => u.containers.map((c) => ({ rg: u.ratingGroup, ...c })));
        const read = records(items).map((r) => r.input);
        assert.equal(read.length, expected.length);
        read.forEach((input, i) => {
          assert.equal(input.identity, spec.subscriber.data.replace('imsi-', ''));
          assert.equal(input.identityType, spec.subscriber.type === 1 ? 'imsi' : 'msisdn');
          assert.equal(input.startMs, spec.opening.utcMs);
          assert.equal(input.ratingGroup, expected[i]!.rg);
          assert.deepEqual(
            [input.volumeUpBytes, input.volumeDownBytes, input.durationSec],
            [expected[i]!.uplink, expected[i]!.downlink, expected[i]!.time],
          );
          assert.equal(
            input.snssai,
            spec.snssai === undefined
              ? undefined
              : spec.snssai.sd === undefined
                ? String(spec.snssai.sst)
                : `${spec.snssai.sst}-${spec.snssai.sd}`,
          );
          assert.equal(input.sourceRecordId, `chf-x/${spec.chargingId}:0:${i + 1}`);
        });
      }),
      { numRuns: 150 },
    );
  });
});
