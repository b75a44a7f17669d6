/**
 * End-to-end tests of `tollgate usage ...`: the real CLI (`node bin/tollgate.js`) as a child
 * process against a SQLite database in a fresh temporary directory, as an operator would run it.
 *
 * - the mediation round trip: sources set, import (summary line, --json counts), the same file
 *   refused and then forced, rejects, correct and reprocess, controls, list, explain, rerate;
 * - the crash test: an import of 200,000 records killed with SIGKILL after a few committed batches,
 *   then run again: it resumes, and every record is accounted for exactly once;
 * - the watched inbox: `usage watch --once` moves files to done/ (or failed/ with the reason).
 *
 * Records are dated yesterday in Berlin (the CLI runs on the wall clock): inside the dedup window
 * and before the time of import.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TEST_CSV_HEADER, TEST_CSV_MAPPING, TEST_NUMBERING } from '../../src/testing/usage.js';
import { BIN, children, cleanUpAfterTests, dbPath, envFor, freshDir, run, show } from './harness.js';

// ---------------------------------------------------------------------------------------------
// Harness (harness.ts, shared with cli.test.ts)

/** Runs a command that must succeed and returns its parsed --json output. */
async function json<T>(dir: string, args: readonly string[]): Promise<T> {
  const all = ['--json', ...args];
  const result = await run(dir, all);
  assert.equal(result.code, 0, show(all, result));
  return JSON.parse(result.stdout) as T;
}

cleanUpAfterTests();

// ---------------------------------------------------------------------------------------------
// Fixtures

/** "YYYY-MM-DD" of yesterday in Berlin, and of tomorrow (for a record from the future). */
function berlinDate(offsetDays: number): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin' }).format(
    Date.now() + offsetDays * 86_400_000,
  );
}
const YESTERDAY = berlinDate(-1);
const TOMORROW = berlinDate(1);

const NUMBERING = TEST_NUMBERING;
const MAPPING = TEST_CSV_MAPPING;
const HEADER = TEST_CSV_HEADER;
const source = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  format: 'csv',
  timeZone: 'Europe/Berlin',
  numbering: NUMBERING,
  mapping: MAPPING,
  ...extra,
});

// Clara Weber (015120000003, MOBILE-POSTPAID-M: 500 national minutes, 1000 SMS, 10 GB a month).
const SMALL = [
  HEADER,
  // 1. a national call from the minutes allowance; 2. a call to the UK (WORLD): 125 s at 60/60
  //    → 180 s = 3 × 0.99 + 0.25 connect = 3.22 EUR; 3. an SMS; 4. a data session.
  `e1,VOICE,015120000003,01701234567,${YESTERDAY} 10:00:00,300,,`,
  `e2,VOICE,015120000003,00442079460000,${YESTERDAY} 11:00:00,125,,`,
  `e3,SMS,015120000003,01701234567,${YESTERDAY} 11:05:00,,,`,
  `e4,DATA,015120000003,,${YESTERDAY} 12:00:00,600,500000,1500000`,
  // 5. nobody holds this number; 6. "6O" is not a number; 7. line 3 again; 8. from tomorrow.
  `e5,VOICE,015199999999,01701234567,${YESTERDAY} 12:30:00,60,,`,
  `e6,VOICE,015120000003,00442079460000,${YESTERDAY} 13:00:00,6O,,`,
  `e2,VOICE,015120000003,00442079460000,${YESTERDAY} 11:00:00,125,,`,
  `e8,VOICE,015120000003,01701234567,${TOMORROW} 15:00:00,60,,`,
];

interface ImportJson {
  import: {
    id: string;
    status: string;
    forced: boolean;
    recordsIn: number;
    rated: number;
    rejected: number;
    duplicates: number;
  };
  resumed: boolean;
  controls: Array<{
    eventDay: string;
    recordsIn: number;
    rated: number;
    rejected: number;
    duplicates: number;
  }>;
}
interface RejectJson {
  id: string;
  kind: string;
  reason: string;
  line: number;
  raw: string;
  status: string;
}
interface RatedJson {
  id: string;
  sourceRecordId: string;
  amountPico: string;
  zone?: string;
  subscriptionId: string;
  startAt: string;
}
interface DayJson {
  eventDay: string;
  recordsIn: number;
  rated: number;
  rejected: number;
  duplicates: number;
  balanced: boolean;
}

// ---------------------------------------------------------------------------------------------

// The suite starts the CLI dozens of times: about 110 s on a quiet 2-core machine, and over
// 120 s while other work shares it, so its limit leaves room (a hung CLI still fails it).
describe('tollgate usage: sources, import, rejects, controls, rating', { timeout: 300_000 }, () => {
  let dir: string;
  let firstImport: string;

  before(async () => {
    dir = freshDir('tollgate-e2e-usage-');
    const seeded = await run(dir, ['demo']);
    assert.equal(seeded.code, 0, show(['demo'], seeded));
    mkdirSync(join(dir, 'inbox'));
    writeFileSync(
      join(dir, 'sources.json'),
      JSON.stringify([
        source('msc-e2e'),
        source('bulk-e2e'),
        source('inbox-e2e', { inbox: join(dir, 'inbox') }),
      ]),
    );
    writeFileSync(join(dir, 'small.csv'), `${SMALL.join('\n')}\n`);
  });

  it('defines sources from a file and lists them', async () => {
    const args = ['usage', 'sources', 'set', 'sources.json', '--tenant', 'demo'];
    const set = await run(dir, args);
    assert.equal(set.code, 0, show(args, set));
    assert.match(set.stdout, /^Created source msc-e2e \(csv\)\.$/m);
    assert.match(set.stdout, /^Created source inbox-e2e \(csv\)\.$/m);
    const [again, list, bad] = await Promise.all([
      run(dir, args),
      json<Array<{ name: string; inbox?: string; dedup: { windowDays: number } }>>(dir, [
        'usage',
        'sources',
        'list',
        '--tenant',
        'demo',
      ]),
      run(dir, ['usage', 'sources', 'set', 'missing.yaml', '--tenant', 'demo']),
    ]);
    assert.equal(again.code, 0, show(args, again));
    assert.match(again.stdout, /^Updated source msc-e2e \(csv\)\.$/m);
    // The demo's own sources (examples/usage/sources.yaml) are there too.
    assert.deepEqual(
      list
        .map((s) => s.name)
        .filter((name) => name.endsWith('-e2e'))
        .sort(),
      ['bulk-e2e', 'inbox-e2e', 'msc-e2e'],
    );
    assert.ok(list.some((s) => s.name === 'mobile-core'));
    assert.equal(list.find((s) => s.name === 'msc-e2e')?.dedup.windowDays, 45);
    assert.equal(list.find((s) => s.name === 'inbox-e2e')?.inbox, join(dir, 'inbox'));
    assert.equal(bad.code, 66, show(['usage', 'sources', 'set', 'missing.yaml'], bad));
  });

  it('imports a file: every record rated, rejected or duplicate, in the summary and in --json', async () => {
    const args = ['usage', 'import', 'small.csv', '--source', 'msc-e2e', '--tenant', 'demo'];
    const imported = await run(dir, args);
    assert.equal(imported.code, 0, show(args, imported));
    const summary =
      /^Completed import (imp_[0-9A-Z]{26}) of small\.csv \(msc-e2e\): 8 records in = 4 rated \+ 3 rejected \+ 1 duplicates \(balanced\)$/m.exec(
        imported.stdout,
      );
    assert.ok(summary, imported.stdout);
    firstImport = summary[1]!;
    assert.match(
      imported.stdout,
      new RegExp(`See the rejects with: tollgate usage rejects --import ${firstImport}`),
    );
    // Not a terminal: the progress is a line with the counts on stderr.
    assert.match(imported.stderr, /small\.csv: 100\.0% {2}records 8, rated 4, rejects 3, duplicates 1/);

    // The same file again is refused (a conflict, exit 75) naming the first import...
    const again = await run(dir, args);
    assert.equal(again.code, 75, show(args, again));
    assert.match(
      again.stderr,
      new RegExp(`imported already as ${firstImport}.*--force.*\\[usage\\.already_imported\\]`),
    );
    // Given with another file, it does not stop that one: the other is imported, and the exit code
    // still says a file was refused.
    writeFileSync(
      join(dir, 'second.csv'),
      `${[HEADER, `s1,SMS,015120000002,01701234567,${YESTERDAY} 14:00:00,,,`].join('\n')}\n`,
    );
    const bothArgs = [
      'usage',
      'import',
      'small.csv',
      'second.csv',
      '--source',
      'msc-e2e',
      '--tenant',
      'demo',
    ];
    const both = await run(dir, bothArgs);
    assert.equal(both.code, 75, show(bothArgs, both));
    assert.match(both.stderr, /small\.csv \(sha256 .*imported already.*\[usage\.already_imported\]/);
    assert.match(
      both.stdout,
      /^Completed import imp_[0-9A-Z]{26} of second\.csv \(msc-e2e\): 1 records in = 1 rated \+ 0 rejected \+ 0 duplicates \(balanced\)$/m,
    );
    // ...and forced, it is a new import whose rated records are all duplicates now.
    const forced = await json<ImportJson>(dir, [...args, '--force']);
    assert.equal(forced.import.status, 'completed');
    assert.equal(forced.import.forced, true);
    assert.equal(forced.resumed, false);
    assert.deepEqual(
      [forced.import.recordsIn, forced.import.rated, forced.import.rejected, forced.import.duplicates],
      [8, 0, 3, 5],
    );
    const inControls = forced.controls.reduce((sum, c) => sum + c.recordsIn, 0);
    assert.equal(inControls, 8);
  });

  it('lists rejects and controls, lists rated usage, explains a charge, re-rates twice, corrects a rate and re-rates', async () => {
    const [rejects, rejectsText, days, daysText, perImport, rated] = await Promise.all([
      json<RejectJson[]>(dir, ['usage', 'rejects', '--tenant', 'demo', '--import', firstImport]),
      run(dir, ['usage', 'rejects', '--tenant', 'demo', '--reason', 'unparseable']),
      run(dir, ['--json', 'usage', 'controls', '--tenant', 'demo']),
      run(dir, ['usage', 'controls', '--tenant', 'demo']),
      json<ImportJson['controls']>(dir, ['usage', 'controls', '--tenant', 'demo', '--import', firstImport]),
      json<RatedJson[]>(dir, ['usage', 'list', '--tenant', 'demo', '--import', firstImport]),
    ]);
    const byLine = new Map(rejects.map((r) => [r.line, r]));
    assert.equal(rejects.length, 4);
    assert.equal(byLine.get(6)?.reason, 'unknown_subscriber');
    assert.equal(byLine.get(7)?.reason, 'unparseable');
    assert.equal(byLine.get(8)?.kind, 'duplicate');
    assert.equal(byLine.get(9)?.reason, 'future_event');
    assert.equal(rejectsText.code, 0);
    assert.match(rejectsText.stdout, /unparseable\s+msc-e2e\s+7\s+msc-e2e line 7: .*"6O"/);

    assert.equal(days.code, 0, show(['usage', 'controls'], days));
    const daily = JSON.parse(days.stdout) as DayJson[];
    assert.ok(daily.length > 0 && daily.every((d) => d.balanced), days.stdout);
    assert.match(daysText.stdout, /^day\s+in\s+rated\s+rejected\s+duplicates\s+balanced$/m);
    assert.doesNotMatch(daysText.stdout, /\bNO\b/);
    assert.deepEqual(sumControls(perImport), [8, 4, 3, 1]);

    assert.deepEqual(rated.map((r) => r.sourceRecordId).sort(), ['e1', 'e2', 'e3', 'e4']);
    const uk = rated.find((r) => r.sourceRecordId === 'e2')!;
    assert.equal(uk.amountPico, '3220000000000');
    assert.equal(uk.zone, 'WORLD');
    assert.equal(rated.find((r) => r.sourceRecordId === 'e1')?.amountPico, '0', 'from the minutes allowance');

    const window = [
      '--subscription',
      uk.subscriptionId,
      '--from',
      new Date(Date.now() - 5 * 86_400_000).toISOString(),
      '--to',
      new Date(Date.now() + 86_400_000).toISOString(),
    ];
    const rerateArgs = ['usage', 'rerate', '--tenant', 'demo', ...window];
    const listArgs = [
      'usage',
      'list',
      '--tenant',
      'demo',
      '--subscription',
      uk.subscriptionId,
      '--limit',
      '1000',
    ];
    type Rerate = { examined: number; deltas: number; unchanged: number; failed: number };
    const [explained, missing, before] = await Promise.all([
      run(dir, ['usage', 'explain', uk.id, '--tenant', 'demo']),
      run(dir, ['usage', 'explain', '999999999', '--tenant', 'demo']),
      json<unknown[]>(dir, listArgs),
    ]);
    assert.equal(explained.code, 0, show(['usage', 'explain', uk.id], explained));
    assert.match(explained.stdout, /Matched prefix 44: zone WORLD/);
    assert.match(explained.stdout, /^Formula: .*3\.22 EUR/m);
    assert.match(explained.stdout, /^Charge: 3\.22 EUR$/m);
    assert.equal(missing.code, 66, show(['usage', 'explain', '999999999'], missing));

    // Re-rating against an unchanged catalog finds nothing to correct, and says so twice.
    const n = before.length;
    assert.ok(n >= 4);
    const first = await json<Rerate>(dir, rerateArgs);
    assert.deepEqual(first, { ...first, examined: n, unchanged: n, failed: 0, deltas: 0 });
    const second = await run(dir, rerateArgs);
    assert.equal(second.code, 0, show(rerateArgs, second));
    assert.match(
      second.stdout,
      new RegExp(`^Re-rated ${n} records: 0 deltas written, ${n} unchanged; net change 0\\.$`, 'm'),
    );
    const after = await json<unknown[]>(dir, listArgs);
    assert.equal(after.length, n, 'no delta records were written');

    // The WORLD rate was keyed wrong (0.99 instead of 0.89): correct the version in force at the
    // call, from its exported definition, then re-rate: one delta of -0.30 EUR, once.
    const exported = join(dir, 'catalog.json');
    const exportArgs = ['catalog', 'export', '--tenant', 'demo', '--format', 'json', '--out', exported];
    const exportRun = await run(dir, exportArgs);
    assert.equal(exportRun.code, 0, show(exportArgs, exportRun));
    const catalog = JSON.parse(readFileSync(exported, 'utf8')) as {
      tariffs: Array<{
        code: string;
        versions: Array<{
          effectiveFrom: string;
          definition: { voice: { rates: Array<Record<string, unknown>> } };
        }>;
      }>;
    };
    const versions = catalog.tariffs.find((t) => t.code === 'MOBILE-STANDARD')!.versions;
    const inForce = versions.filter((v) => v.effectiveFrom <= uk.startAt).pop()!;
    const world = inForce.definition.voice.rates.find((r) => r.zone === 'WORLD')!;
    assert.equal(world.unitPrice, '0.99');
    world.unitPrice = '0.89';
    const fixed = join(dir, 'mobile-standard-fixed.json');
    writeFileSync(fixed, JSON.stringify(inForce.definition));
    const correctArgs = [
      'tariffs',
      'correct',
      fixed,
      '--tenant',
      'demo',
      '--tariff',
      'MOBILE-STANDARD',
      '--at',
      uk.startAt,
      '--reason',
      'WORLD keyed as 0.99 instead of 0.89',
    ];
    const corrected = await run(dir, correctArgs);
    assert.equal(corrected.code, 0, show(correctArgs, corrected));
    assert.match(corrected.stdout, /^Corrected trv_\S+: version \d+ \(trv_\S+\) replaces it from /m);
    const rerated = await json<Rerate>(dir, rerateArgs);
    assert.deepEqual(rerated, { ...rerated, examined: n, failed: 0, deltas: 1 });
    const withDelta = await json<Array<{ kind: string; correctsId?: string; amountPico: string }>>(
      dir,
      listArgs,
    );
    const deltas = withDelta.filter((r) => r.kind === 'rerate');
    assert.deepEqual(
      deltas.map((d) => [d.correctsId, d.amountPico]),
      [[uk.id, '-300000000000']],
    );
    const explainedAgain = await run(dir, ['usage', 'explain', uk.id, '--tenant', 'demo']);
    assert.match(explainedAgain.stdout, /^Re-rated .*: -0\.3 EUR$/m, explainedAgain.stdout);
    const third = await json<Rerate>(dir, rerateArgs);
    assert.deepEqual(third, { ...third, failed: 0, deltas: 0 });
  });

  it('reprocesses an uncorrected reject: it stays one reject, and the controls do not move', async () => {
    const args = [
      'usage',
      'reprocess',
      '--tenant',
      'demo',
      '--import',
      firstImport,
      '--reason',
      'unparseable',
    ];
    const reprocessed = await run(dir, args);
    assert.equal(reprocessed.code, 0, show(args, reprocessed));
    assert.match(reprocessed.stdout, /^Reprocessed 1: 0 rated, 1 still rejected, 0 duplicates\.$/m);
    const [perImport, open] = await Promise.all([
      json<ImportJson['controls']>(dir, ['usage', 'controls', '--tenant', 'demo', '--import', firstImport]),
      json<RejectJson[]>(dir, ['usage', 'rejects', '--tenant', 'demo', '--import', firstImport]),
    ]);
    assert.deepEqual(sumControls(perImport), [8, 4, 3, 1]);
    assert.equal(open.length, 4);
  });

  it('resumes an import killed with SIGKILL: every record counted once, none duplicated', async () => {
    // 200,000 records from the 28 demo mobile lines: calls, SMS and data. Every 1000th is from an
    // unknown number (200 rejects); every 2500th repeats the record before it (80 duplicates).
    const total = 200_000;
    const lines = [HEADER];
    let unknown = 0;
    let repeated = 0;
    for (let i = 0; i < total; i++) {
      if (i % 2500 === 1250) {
        lines.push(lines[lines.length - 1]!);
        repeated++;
        continue;
      }
      const number = i % 1000 === 999 ? '015199999999' : `0151200000${String(1 + (i % 28)).padStart(2, '0')}`;
      if (i % 1000 === 999) unknown++;
      const second = Math.floor((i * 86_399) / total);
      const time = `${YESTERDAY} ${two(Math.floor(second / 3600))}:${two(Math.floor(second / 60) % 60)}:${two(second % 60)}`;
      switch (i % 3) {
        case 0:
          lines.push(`b${i},VOICE,${number},030${1_000_000 + (i % 9_000_000)},${time},${20 + (i % 600)},,`);
          break;
        case 1:
          lines.push(`b${i},SMS,${number},0170${1_000_000 + (i % 9_000_000)},${time},,,`);
          break;
        default:
          lines.push(
            `b${i},DATA,${number},,${time},${60 + (i % 3000)},${1000 + (i % 50_000)},${20_000 + (i % 900_000)}`,
          );
      }
    }
    writeFileSync(join(dir, 'bulk.csv'), `${lines.join('\n')}\n`);
    const args = [
      'usage',
      'import',
      'bulk.csv',
      '--source',
      'bulk-e2e',
      '--tenant',
      'demo',
      '--batch',
      '5000',
    ];

    // Start it, and kill it (SIGKILL: no cleanup at all) once a progress line shows two batches in.
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: dir,
      env: envFor(dir),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no progress line within 30 s:\n${stderr}`)), 30_000);
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const counts = [...stderr.matchAll(/records ([\d,]+),/g)].map((m) =>
          Number(m[1]!.replaceAll(',', '')),
        );
        if (counts.some((n) => n >= 10_000)) {
          clearTimeout(timer);
          child.kill('SIGKILL');
          resolve();
        }
      });
      void exited.then(() => reject(new Error(`the import ended before it was killed:\n${stderr}`)));
    });
    await exited;
    children.delete(child);

    // It stopped mid-file, at a batch boundary: the import row says where to go on.
    const db = new Database(dbPath(dir), { readonly: true });
    let interrupted: { id: string; status: string; records_in: number | bigint };
    try {
      interrupted = db
        .prepare(`select id, status, records_in from usage_imports where file_name = 'bulk.csv'`)
        .get() as typeof interrupted;
    } finally {
      db.close();
    }
    const committed = Number(interrupted.records_in);
    assert.equal(interrupted.status, 'running');
    assert.ok(committed >= 10_000 && committed < total, `committed ${committed}`);
    assert.equal(committed % 5000, 0, 'whole batches only');

    // Run the same import again: it resumes and finishes.
    const resumed = await json<ImportJson>(dir, args);
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.import.id, interrupted.id);
    assert.equal(resumed.import.status, 'completed');
    assert.deepEqual(
      {
        in: resumed.import.recordsIn,
        rated: resumed.import.rated,
        rejected: resumed.import.rejected,
        duplicates: resumed.import.duplicates,
      },
      { in: lines.length - 1, rated: total - unknown - repeated, rejected: unknown, duplicates: repeated },
    );
    // The stored rows agree: one rated row per record id, no row written twice by the restart.
    const check = new Database(dbPath(dir), { readonly: true });
    try {
      const rows = check
        .prepare(
          `select count(*) as n, count(distinct source_record_id) as ids from rated_usage where import_id = ?`,
        )
        .get(interrupted.id) as { n: number | bigint; ids: number | bigint };
      assert.equal(Number(rows.n), total - unknown - repeated);
      assert.equal(Number(rows.ids), Number(rows.n));
      const rejects = check
        .prepare(
          `select kind, count(*) as n from usage_rejects where import_id = ? group by kind order by kind`,
        )
        .all(interrupted.id) as Array<{ kind: string; n: number | bigint }>;
      assert.deepEqual(
        rejects.map((r) => [r.kind, Number(r.n)]),
        [
          ['duplicate', repeated],
          ['reject', unknown],
        ],
      );
    } finally {
      check.close();
    }
    const controls = await run(dir, ['--json', 'usage', 'controls', '--tenant', 'demo']);
    assert.equal(controls.code, 0, show(['usage', 'controls'], controls));
    assert.ok(
      (JSON.parse(controls.stdout) as DayJson[]).every((d) => d.balanced),
      controls.stdout,
    );
    // And the finished file is now refused as a whole.
    const again = await run(dir, args);
    assert.equal(again.code, 75, show(args, again));
  });

  it('an import the database interrupts exits 69 saying where, and resumes when run again', async () => {
    // A trigger stands in for the database failing mid-import (busy past its timeout, disk full):
    // the insert of record x250's rated row fails with an error that has a code.
    const lines = [HEADER];
    for (let i = 0; i < 600; i++) {
      lines.push(`x${i},SMS,0151200000${two(1 + (i % 28))},01701234567,${YESTERDAY} 16:${two(i % 60)}:00,,,`);
    }
    writeFileSync(join(dir, 'interrupted.csv'), `${lines.join('\n')}\n`);
    const db = new Database(dbPath(dir));
    db.exec(
      "CREATE TRIGGER e2e_fail BEFORE INSERT ON rated_usage WHEN NEW.source_record_id = 'x250' " +
        "BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
    );
    const args = [
      'usage',
      'import',
      'interrupted.csv',
      '--source',
      'msc-e2e',
      '--tenant',
      'demo',
      '--batch',
      '100',
    ];
    try {
      const failed = await run(dir, args);
      assert.equal(failed.code, 69, show(args, failed));
      assert.match(
        failed.stderr,
        /import (imp_\w+) of interrupted\.csv was interrupted \(SQLITE_CONSTRAINT_TRIGGER\) with 200 records accounted for, before line 202 .*run the same import again.*\[usage\.import_interrupted\]/,
      );
    } finally {
      db.exec('DROP TRIGGER e2e_fail');
      db.close();
    }
    const again = await run(dir, ['--json', ...args]);
    assert.equal(again.code, 0, show(args, again));
    const resumed = JSON.parse(again.stdout) as ImportJson;
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.import.status, 'completed');
    assert.deepEqual(
      [resumed.import.recordsIn, resumed.import.rated, resumed.import.rejected, resumed.import.duplicates],
      [600, 600, 0, 0],
    );
    // The progress counts the whole import, and its rate only the records of this run.
    assert.match(
      again.stderr,
      /interrupted\.csv \(resumed after 200 records\): 100\.0% {2}records 600, records this run 400, rated 600, rejects 0, duplicates 0 {2}[0-9,]+ records this run\/s/,
    );
  });

  it('two imports of one source at the same time: the records they share are rated once', async () => {
    // The same 20,000 records delivered twice under two names, the second with one more record.
    const shared = 20_000;
    const lines = [HEADER];
    for (let i = 0; i < shared; i++) {
      const number = `0151200000${String(1 + (i % 28)).padStart(2, '0')}`;
      const second = Math.floor((i * 86_399) / shared);
      const time = `${YESTERDAY} ${two(Math.floor(second / 3600))}:${two(Math.floor(second / 60) % 60)}:${two(second % 60)}`;
      lines.push(`p${i},SMS,${number},0170${1_000_000 + i},${time},,,`);
    }
    writeFileSync(join(dir, 'pair-a.csv'), `${lines.join('\n')}\n`);
    writeFileSync(
      join(dir, 'pair-b.csv'),
      `${[...lines, `p-extra,SMS,015120000001,01701234567,${YESTERDAY} 23:59:00,,,`].join('\n')}\n`,
    );
    const args = (file: string) => ['usage', 'import', file, '--source', 'msc-e2e', '--tenant', 'demo'];
    const [a, b] = await Promise.all([
      json<ImportJson>(dir, args('pair-a.csv')),
      json<ImportJson>(dir, args('pair-b.csv')),
    ]);
    assert.equal(a.import.rated + b.import.rated, shared + 1, 'each shared record rated once');
    assert.equal(a.import.duplicates + b.import.duplicates, shared);
  });

  it('watch --once imports what is in the inbox and moves it to done/', async () => {
    const inbox = join(dir, 'inbox');
    writeFileSync(
      join(inbox, 'good.csv'),
      `${[HEADER, `w1,VOICE,015120000001,030123456,${YESTERDAY} 09:00:00,61,,`, `w2,SMS,015120000002,01701234567,${YESTERDAY} 09:01:00,,,`].join('\n')}\n`,
    );
    writeFileSync(join(inbox, 'partial.csv.part'), `${HEADER}\n`);
    // A UTF-16 export (Windows tools write them) is refused whole, saying why.
    const utf16Line = `w9,SMS,015120000002,01701234567,${YESTERDAY} 09:02:00,,,`;
    writeFileSync(
      join(inbox, 'utf16.csv'),
      Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${HEADER}\r\n${utf16Line}\r\n`, 'utf16le')]),
    );
    const args = ['usage', 'watch', '--source', 'inbox-e2e', '--tenant', 'demo', '--once'];
    const watched = await run(dir, args);
    assert.equal(watched.code, 0, show(args, watched));
    assert.match(watched.stderr, /good\.csv: 2 records = 2 rated \+ 0 rejected \+ 0 duplicates → done\//);
    assert.match(watched.stdout, /Imported 1 files, 0 already imported, 1 failed\./);
    assert.ok(existsSync(join(inbox, 'done', 'good.csv')));
    assert.ok(!existsSync(join(inbox, 'good.csv')));
    assert.ok(existsSync(join(inbox, 'partial.csv.part')), 'a file still being written is left alone');
    assert.match(
      readFileSync(join(inbox, 'failed', 'utf16.csv.error.txt'), 'utf8'),
      /utf16\.csv does not read as a csv file of source inbox-e2e: .*line 1: the file is UTF-16LE text/,
    );

    // The same file delivered twice goes to done/ with a note, not imported again; a new file with
    // the name of one in done/ is imported and kept beside it, never over it.
    const first = readFileSync(join(inbox, 'done', 'good.csv'));
    writeFileSync(join(inbox, 'good-again.csv'), first);
    writeFileSync(
      join(inbox, 'good.csv'),
      `${[HEADER, `w3,SMS,015120000002,01701234567,${YESTERDAY} 09:03:00,,,`].join('\n')}\n`,
    );
    const twice = await run(dir, args);
    assert.equal(twice.code, 0, show(args, twice));
    assert.match(twice.stderr, /good-again\.csv: already imported → done\//);
    assert.match(
      twice.stderr,
      /good\.csv: 1 records = 1 rated \+ 0 rejected \+ 0 duplicates → done\/good\.1\.csv/,
    );
    assert.match(twice.stdout, /Imported 1 files, 1 already imported, 0 failed\./);
    assert.ok(existsSync(join(inbox, 'done', 'good-again.csv.duplicate.txt')));
    assert.deepEqual(readFileSync(join(inbox, 'done', 'good.csv')), first, 'the first good.csv is kept');
    assert.ok(existsSync(join(inbox, 'done', 'good.1.csv')));
  });

  it(
    'watch --once moves an unreadable file to failed/ with its .error.txt',
    { skip: process.getuid?.() === 0 ? 'root reads a file whatever its mode' : false },
    async () => {
      const inbox = join(dir, 'inbox');
      const locked = join(inbox, 'locked.csv');
      writeFileSync(locked, `${HEADER}\n`);
      chmodSync(locked, 0o000);
      const args = ['usage', 'watch', '--source', 'inbox-e2e', '--tenant', 'demo', '--once'];
      const watched = await run(dir, args);
      assert.equal(watched.code, 0, show(args, watched));
      assert.match(watched.stdout, /Imported 0 files, 0 already imported, 1 failed\./);
      assert.ok(existsSync(join(inbox, 'failed', 'locked.csv')));
      assert.match(readFileSync(join(inbox, 'failed', 'locked.csv.error.txt'), 'utf8'), /EACCES|permission/i);
    },
  );

  it('watch --once moves a file of another format to failed/ with its .error.txt', async () => {
    const inbox = join(dir, 'inbox');
    writeFileSync(
      join(inbox, 'Master.csv'),
      '"","01512345678","004420794600","from-internal","""Alice"" <01512345678>","SIP/100-1","SIP/t-2","Dial","SIP/t/0044,60","2026-03-29 01:59:50","2026-03-29 03:00:05","2026-03-29 03:02:05",135,120,"ANSWERED","DOCUMENTATION","1774745990.1"\n',
    );
    const args = ['usage', 'watch', '--source', 'inbox-e2e', '--tenant', 'demo', '--once'];
    const watched = await run(dir, args);
    assert.equal(watched.code, 0, show(args, watched));
    assert.ok(existsSync(join(inbox, 'failed', 'Master.csv')), `not in failed/:\n${watched.stderr}`);
    assert.ok(existsSync(join(inbox, 'failed', 'Master.csv.error.txt')));
  });
  it('corrects a reject and reprocesses it: it moves from rejected to rated, once', async () => {
    const rejects = await json<RejectJson[]>(dir, [
      'usage',
      'rejects',
      '--tenant',
      'demo',
      '--import',
      firstImport,
      '--reason',
      'unparseable',
    ]);
    const broken = rejects[0]!;
    const correctArgs = [
      'usage',
      'rejects',
      'correct',
      broken.id,
      '--raw',
      broken.raw.replace(',6O,', ',60,'),
      '--tenant',
      'demo',
    ];
    const corrected = await run(dir, correctArgs);
    assert.equal(corrected.code, 0, show(correctArgs, corrected));
    assert.match(corrected.stdout, new RegExp(`Corrected reject ${broken.id}`));
    const reprocessArgs = ['usage', 'reprocess', '--tenant', 'demo', '--id', broken.id];
    const reprocessed = await run(dir, reprocessArgs);
    assert.equal(reprocessed.code, 0, show(reprocessArgs, reprocessed));
    assert.match(reprocessed.stdout, /Reprocessed 1: 1 rated, 0 still rejected, 0 duplicates\./);
    const [perImport, closed, again, discard] = await Promise.all([
      json<ImportJson['controls']>(dir, ['usage', 'controls', '--tenant', 'demo', '--import', firstImport]),
      json<RejectJson[]>(dir, ['usage', 'rejects', '--tenant', 'demo', '--status', 'reprocessed']),
      json<{ attempted: number }>(dir, reprocessArgs),
      run(dir, ['usage', 'rejects', 'discard', broken.id, '--reason', 'test', '--tenant', 'demo']),
    ]);
    // The same 8 records in; one moved from rejected to rated.
    assert.deepEqual(sumControls(perImport), [8, 5, 2, 1]);
    assert.deepEqual(
      closed.map((r) => r.id),
      [broken.id],
    );
    assert.equal(again.attempted, 0, 'nothing open is left to reprocess with that id');
    assert.equal(discard.code, 75, 'a reprocessed reject cannot be discarded');
  });
});

/** [records in, rated, rejected, duplicates] over control rows. */
function sumControls(rows: ImportJson['controls']): number[] {
  return rows.reduce(
    (t, c) => [t[0]! + c.recordsIn, t[1]! + c.rated, t[2]! + c.rejected, t[3]! + c.duplicates],
    [0, 0, 0, 0],
  );
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
