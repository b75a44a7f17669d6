// Throughput of the usage CSV scanner and of the full mapped CSV reader, on one core.
// Run: node --import tsx bench/csv-reader.ts [lines]. The last line is one JSON object.
import { RecordScanner } from '../src/usage/readers/delimited.js';
import { createCsvReader } from '../src/usage/readers/csv.js';
import type { ReaderSettings } from '../src/usage/model.js';

const lines = Number(process.argv[2] ?? 1_000_000);

// A typical 10-column CDR line: id, service, calling, called, start, duration, up, down, cell, cause.
function line(i: number): string {
  const second = String(i % 60).padStart(2, '0');
  const minute = String(Math.floor(i / 60) % 60).padStart(2, '0');
  return `${1_000_000_000 + i},VOICE,4915112${String(i % 100000).padStart(5, '0')},0301234${String(i % 10000).padStart(4, '0')},2026-03-2${i % 9} 1${i % 10}:${minute}:${second},${i % 3600},0,0,26201-${i % 65536},"NORMAL_CLEARING"\n`;
}
const file = Buffer.from(Array.from({ length: lines }, (_, i) => line(i)).join(''), 'latin1');
const chunkSize = 1 << 20;
const chunks: Buffer[] = [];
for (let at = 0; at < file.length; at += chunkSize) chunks.push(file.subarray(at, at + chunkSize));

function scanAll(): number {
  const scanner = new RecordScanner(44, 34);
  let records = 0;
  let fields = 0;
  let position = 0;
  while (position < file.length) {
    position = scanner.scan(file, position, file.length, true);
    records++;
    fields += scanner.fieldCount;
  }
  if (fields !== records * 10) throw new Error(`expected 10 fields per line, got ${fields / records}`);
  return records;
}

const settings: ReaderSettings = {
  source: 'bench',
  numbering: { countryCode: '49', nationalPrefix: '0', internationalPrefixes: ['00'] },
  timeZone: 'Europe/Berlin',
  identityType: 'msisdn',
};
const reader = createCsvReader({
  columnCount: 10,
  fields: {
    sourceRecordId: 1,
    service: { column: 2, map: { VOICE: 'voice', SMS: 'sms', GPRS: 'data' } },
    identity: 3,
    calledNumber: 4,
    startMs: { column: 5, format: 'datetime' },
    durationSec: 6,
    volumeUpBytes: 7,
    volumeDownBytes: 8,
    cellId: 9,
  },
});
async function* feed(): AsyncIterable<Uint8Array> {
  for (const chunk of chunks) yield chunk;
}
async function readAll(): Promise<number> {
  let records = 0;
  for await (const batch of reader(feed(), settings, { byteOffset: 0, line: 1 })) {
    for (const item of batch) if (item.kind === 'record') records++;
  }
  if (records !== lines) throw new Error(`read ${records} records of ${lines}`);
  return records;
}

function best(times: number[]): number {
  return Math.min(...times);
}
const scanTimes: number[] = [];
for (let round = 0; round < 5; round++) {
  const t0 = process.hrtime.bigint();
  scanAll();
  scanTimes.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
const readTimes: number[] = [];
for (let round = 0; round < 3; round++) {
  const t0 = process.hrtime.bigint();
  await readAll();
  readTimes.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
const scanPerSecond = Math.round(lines / best(scanTimes));
const readPerSecond = Math.round(lines / best(readTimes));
console.log(
  `scanner: ${scanPerSecond.toLocaleString('en')} lines/s (${(file.length / 1e6 / best(scanTimes)).toFixed(0)} MB/s)`,
);
console.log(
  `mapped CSV reader (records with E.164, local time, quantities): ${readPerSecond.toLocaleString('en')} records/s`,
);
console.log(
  JSON.stringify({
    bench: 'csv-reader',
    lines,
    bytesPerLine: Math.round(file.length / lines),
    scannerLinesPerSecond: scanPerSecond,
    readerRecordsPerSecond: readPerSecond,
  }),
);
