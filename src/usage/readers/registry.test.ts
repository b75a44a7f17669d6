import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { isTollgateError } from '../../kernel/errors.js';
import { parseSourceDefinition } from '../source.js';
import { readerFor, readerForSource, readUsageFile, validateSourceMapping } from './registry.js';
import { BERLIN } from './text-fixtures.js';

const csvMapping = {
  columnCount: 10,
  fields: {
    sourceRecordId: 1,
    service: { column: 2, map: { VOICE: 'voice', SMS: 'sms', GPRS: 'data' } },
    identity: 3,
    calledNumber: 4,
    startMs: 5,
    durationSec: 6,
    volumeUpBytes: 7,
    volumeDownBytes: 8,
    cellId: 9,
  },
};

function line(i: number): string {
  return `${1_000_000_000 + i},VOICE,4915112${String(i % 100000).padStart(5, '0')},0301234${String(i % 10000).padStart(4, '0')},2026-03-2${i % 9} 1${i % 10}:00:${String(i % 60).padStart(2, '0')},${i % 3600},0,0,26201-${i % 65536},"NORMAL_CLEARING"\n`;
}

describe('registry', () => {
  it('gives a reader per text format', () => {
    for (const format of ['asterisk-csv', 'freeswitch-csv', 'jsonl'] as const)
      assert.equal(typeof readerFor(format), 'function');
    assert.equal(typeof readerFor('csv', { mapping: csvMapping }), 'function');
    assert.throws(
      () => readerFor('tsv', { mapping: {} }),
      (error) => isTollgateError(error) && /mapping.fields/.test(error.message),
    );
  });
  it('validates the mapping of a source definition', () => {
    const numbering = BERLIN.numbering;
    const source = parseSourceDefinition({
      name: 'pbx',
      format: 'asterisk-csv',
      numbering,
      mapping: { unanswered: 'skip' },
    });
    assert.throws(() => validateSourceMapping(source), /mapping.unanswered must be "record" or "reject"/);
    const csv = parseSourceDefinition({ name: 'sw', format: 'csv', numbering, mapping: csvMapping });
    validateSourceMapping(csv);
    assert.equal(typeof readerForSource(csv), 'function');
    assert.throws(
      () => readerForSource(parseSourceDefinition({ name: 'api', format: 'api', numbering })),
      /has no file reader/,
    );
  });
});

describe('reading files', () => {
  it('streams a ~200 MB file with flat memory, and resumes from a byte offset', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'tollgate-csv-'));
    const path = join(directory, 'big.csv');
    try {
      // Write about 200 MB (2 million lines of ~100 bytes) without holding it in memory.
      const lines = 2_000_000;
      const out = createWriteStream(path);
      let block: string[] = [];
      for (let i = 0; i < lines; i++) {
        block.push(line(i));
        if (block.length === 10_000) {
          if (!out.write(block.join(''))) await once(out, 'drain');
          block = [];
        }
      }
      out.end(block.join(''));
      await once(out, 'finish');

      const reader = readerFor('csv', { mapping: csvMapping });
      const settings = { ...BERLIN, source: 'big' };
      // A garbage collection on demand, so live memory can be measured without the collector's slack.
      setFlagsFromString('--expose-gc');
      const collect = runInNewContext('gc') as () => void;
      collect();
      const before = process.memoryUsage().rss;
      let peak = before;
      let warmHeap = 0;
      let lateHeap = 0;
      let read = 0;
      let rejected = 0;
      let batches = 0;
      let resumeAt = { byteOffset: 0, line: 1 };
      let lastDuration = -1;
      for await (const batch of readUsageFile(path, reader, settings)) {
        batches++;
        for (const item of batch) {
          if (item.kind === 'record') {
            read++;
            lastDuration = item.input.durationSec;
          } else rejected++;
          if (read === 1_500_000 && item.kind === 'record') resumeAt = item.position;
        }
        if (batches === 20 || batches === 180) {
          collect();
          if (batches === 20) warmHeap = process.memoryUsage().heapUsed;
          else lateHeap = process.memoryUsage().heapUsed;
        }
        if (batches % 20 === 0) peak = Math.max(peak, process.memoryUsage().rss);
      }
      assert.equal(read, lines);
      assert.equal(rejected, 0);
      assert.equal(lastDuration, (lines - 1) % 3600);
      // One chunk (1 MiB), its partial line and one batch of items are live at a time, so the live
      // heap after 20 MB of the file and after 180 MB must be the same give or take a batch, and
      // the process must never hold the file (200 MB; its items would take several times that).
      const heapGrowthMb = (lateHeap - warmHeap) / 1e6;
      const rssGrowthMb = (peak - before) / 1e6;
      console.log(
        `200 MB file: ${read} records, live heap +${heapGrowthMb.toFixed(1)} MB from 20 to 180 MB, RSS +${rssGrowthMb.toFixed(0)} MB`,
      );
      assert.ok(heapGrowthMb < 16, `the live heap grew by ${heapGrowthMb.toFixed(1)} MB while reading`);
      assert.ok(rssGrowthMb < 200, `RSS grew by ${rssGrowthMb.toFixed(0)} MB`);

      let resumed = 0;
      let firstLine = 0;
      for await (const batch of readUsageFile(path, reader, settings, resumeAt)) {
        for (const item of batch) {
          if (firstLine === 0) firstLine = item.position.line;
          resumed++;
        }
      }
      assert.equal(firstLine, 1_500_000);
      assert.equal(resumed, lines - 1_500_000 + 1);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  });
});
