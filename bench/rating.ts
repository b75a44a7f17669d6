/**
 * Usage mediation and batch rating benchmark: `npm run bench:rating`.
 *
 * End to end, on one core (this process): a CSV file of BENCH_CDRS (1 000 000) call detail
 * records → parsed, validated, deduplicated (against the keys of the day, loaded from the
 * database), matched to their subscriber at the event instant, rated with allowances, bands and
 * tiers, and stored in SQLite (rated usage, rejects, dedup keys, counters, controls), in
 * transactions of 10 000 records: `importUsageFile`, exactly what `tollgate usage import` runs.
 *
 * The floor, measured in the same run on the same file: the same reader (parse and normalise)
 * and the rows inserted raw — the record's fields and its line into a table without indexes, in
 * the same 10 000-row transactions with the same multi-row statements. The ratio says how much of
 * the cost mediation and rating add to what reading and storing the file costs anyway.
 *
 * The data: the demo operator's catalog (examples/catalog) and BENCH_SUBSCRIBERS (2 000)
 * postpaid subscribers on MOBILE-POSTPAID-M (500 national minutes, 1 000 SMS, 10 GB a month), so
 * allowances run out during the file and later records are charged. The file is one day of
 * traffic in time order (as a switch writes it): 60 % voice (national fixed and mobile, EU, North
 * America, rest of the world; peak and off-peak), 25 % data sessions, 15 % SMS; about 0.5 % of the
 * records name unknown numbers (rejects) and 0.5 % repeat an earlier record id (duplicates).
 *
 * Also printed: the pure rating function alone (bench/rating-pure.ts's measurePureRating), and
 * the process's CPU time of each run (on a shared machine the rates also measure the neighbours).
 *
 * Settings (environment): BENCH_CDRS, BENCH_SUBSCRIBERS, BENCH_RUNS (3), BENCH_BATCH (records per
 * transaction, the importer's default 10 000), BENCH_PURE=0 to skip the pure rating part,
 * BENCH_KEEP_DB=1 to keep each run's database (its path is printed) to inspect.
 * The last line of the output is one JSON object:
 *   {"bench":"rating","cdrs_per_sec":N,"floor_cdrs_per_sec":N,"ratio_to_floor":R,"pure_rating_per_sec":N,"cores":N}
 */
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { FakeClock } from '../src/kernel/clock.js';
import { openDatabase, inTransaction, type Database } from '../src/storage/database.js';
import { migrateToLatest } from '../src/storage/migrate.js';
import { allMigrations } from '../src/app/migrations.js';
import { loadDemoFiles } from '../src/app/demo-files.js';
import { seedDemoIfEmpty } from '../src/workflows/demo.js';
import { findTenant } from '../src/workflows/tenants.js';
import { importCustomers, importRecordsFromCsv } from '../src/workflows/customers.js';
import { defineSource, importUsageFile } from '../src/workflows/usage.js';
import type { Caller, WorkflowDeps } from '../src/workflows/context.js';
import { parseSourceDefinition, readerSettingsOf, type ReadItem } from '../src/usage/index.js';
import { readerForSource, openUsageFile } from '../src/usage/readers/index.js';
import { BulkInserter } from '../src/usage/store.js';
import { measurePureRating } from './rating-pure.js';
import { median, rng } from './common.js';

const CDRS = Number(process.env.BENCH_CDRS ?? 1_000_000);
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 2_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NOW = '2026-11-29T12:00:00.000Z';

const SOURCE = {
  name: 'bench-msc',
  format: 'csv',
  timeZone: 'Europe/Berlin',
  numbering: { countryCode: '49', nationalPrefix: '0', internationalPrefixes: ['00'] },
  mapping: {
    columns: ['id', 'type', 'a', 'b', 'start', 'seconds', 'up', 'down'],
    fields: {
      sourceRecordId: 'id',
      service: { column: 'type', map: { V: 'voice', S: 'sms', D: 'data' } },
      identity: 'a',
      calledNumber: { column: 'b', optional: true },
      startMs: { column: 'start', format: 'datetime' },
      durationSec: { column: 'seconds', optional: true },
      volumeUpBytes: { column: 'up', optional: true },
      volumeDownBytes: { column: 'down', optional: true },
    },
  },
};

const msisdn = (i: number): string => `4915130${String(i).padStart(6, '0')}`;

function customersCsv(): string {
  const header =
    'customerRef,customerName,customerType,email,phone,accountRef,accountName,currency,billCycleDay,timeZone,invoiceDelivery,ratingType,creditClass,creditLimit,costCentre,parentAccountRef,payerAccountRef,offerCode,subscriptionName,status,startDate,addOns,msisdn,imsi,iccid,sipUri,lineId,deviceId';
  const rows = [header];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    rows.push(
      `B-${i},Bench ${i},individual,,,BA-${i},Bench ${i},EUR,1,Europe/Berlin,email,postpaid,,,,,,MOBILE-POSTPAID-M,Bench ${i},active,2026-02-01T00:00:00Z,,${msisdn(i)},,,,,`,
    );
  }
  return `${rows.join('\n')}\n`;
}

/** One day of traffic in time order, as text; returns the path. */
function writeCdrFile(path: string): void {
  const random = rng(20261128);
  const int = (n: number): number => Math.floor(random() * n);
  const destinations = [
    '0301234',
    '0401234',
    '0170123',
    '0151987',
    '00331234',
    '00391234',
    '0012125551',
    '00442079',
    '00819012',
  ];
  const parts: string[] = [];
  const dayStart = 0; // seconds since local midnight
  for (let i = 0; i < CDRS; i++) {
    const second = dayStart + Math.floor((i / CDRS) * 86_399);
    const hh = String(Math.floor(second / 3600)).padStart(2, '0');
    const mm = String(Math.floor(second / 60) % 60).padStart(2, '0');
    const ss = String(second % 60).padStart(2, '0');
    const start = `2026-11-28 ${hh}:${mm}:${ss}`;
    const roll = int(1000);
    const who = roll < 5 ? `01599${String(int(1_000_000)).padStart(6, '0')}` : msisdn(int(SUBSCRIBERS));
    // 0.5 % repeat the id of an earlier record (a switch resending): duplicates.
    const id = roll >= 995 && i > 10 ? `r${i - 1 - int(10)}` : `r${i}`;
    const kind = int(100);
    if (kind < 60) {
      const b = `${destinations[int(destinations.length)] as string}${String(int(10_000)).padStart(4, '0')}`;
      const duration = int(10) === 0 ? int(3600) : 5 + int(240);
      parts.push(`${id},V,${who},${b},${start},${duration},,\n`);
    } else if (kind < 85) {
      parts.push(`${id},D,${who},,${start},${60 + int(1800)},${int(2_000_000)},${int(20_000_000)}\n`);
    } else {
      parts.push(`${id},S,${who},0170${String(int(10_000_000)).padStart(7, '0')},${start},,,\n`);
    }
  }
  writeFileSync(path, parts.join(''));
}

async function prepareTemplate(dir: string): Promise<{ path: string; tenantSlug: string }> {
  const path = join(dir, 'template.db');
  const database = await openDatabase(`sqlite:${path}`);
  await migrateToLatest(database, allMigrations);
  const clock = new FakeClock(NOW);
  const deps: WorkflowDeps = { database, clock };
  await seedDemoIfEmpty(deps, loadDemoFiles());
  const tenant = await findTenant(deps, 'demo');
  const caller: Caller = { tenantId: tenant!.id, actor: { type: 'system', id: 'bench' } };
  const report = await importCustomers(deps, caller, importRecordsFromCsv(customersCsv()), { atomic: true });
  if (report.rejected > 0) throw new Error(`bench customers rejected: ${JSON.stringify(report.errors[0])}`);
  await defineSource(deps, caller, SOURCE);
  await sql`pragma wal_checkpoint(truncate)`.execute(database.db);
  await database.close();
  return { path, tenantSlug: 'demo' };
}

async function runImport(templatePath: string, dir: string, file: string, run: number): Promise<number> {
  const path = join(dir, `run-${run}.db`);
  copyFileSync(templatePath, path);
  const database = await openDatabase(`sqlite:${path}`);
  const deps: WorkflowDeps = { database, clock: new FakeClock(NOW) };
  const tenant = await findTenant(deps, 'demo');
  const caller: Caller = { tenantId: tenant!.id, actor: { type: 'system', id: 'bench' } };
  const hooks = globalThis as { __startProfile?: () => Promise<void>; __stopProfile?: () => Promise<void> };
  await hooks.__startProfile?.();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await importUsageFile(deps, caller, {
    source: SOURCE.name,
    path: file,
    ...(process.env.BENCH_BATCH === undefined ? {} : { batchRecords: Number(process.env.BENCH_BATCH) }),
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await hooks.__stopProfile?.();
  const i = result.import;
  if (i.status !== 'completed' || i.recordsIn !== CDRS)
    throw new Error(`import ended ${i.status}: ${i.error ?? ''}`);
  console.log(
    `  run ${run + 1}: ${CDRS} CDRs in ${seconds.toFixed(2)} s = ${Math.round(CDRS / seconds).toLocaleString('en-US')}/s ` +
      `(${i.rated} rated, ${i.rejected} rejected, ${i.duplicates} duplicates); ${cpuText(cpu)}`,
  );
  await database.close();
  if (process.env.BENCH_KEEP_DB === '1') {
    console.log(`  database kept: ${path} (BENCH_KEEP_DB=1)`);
    return CDRS / seconds;
  }
  rmSync(path, { force: true });
  rmSync(`${path}-wal`, { force: true });
  rmSync(`${path}-shm`, { force: true });
  return CDRS / seconds;
}

/** The floor: the same reader, the records inserted raw (fields and line) in the same batches. */
async function runFloor(dir: string, file: string, run: number): Promise<number> {
  const path = join(dir, `floor-${run}.db`);
  const database: Database = await openDatabase(`sqlite:${path}`);
  await sql`create table raw_usage (id integer, line integer, record_id text, service text, identity text, called text, start_ms integer, duration integer, up integer, down integer, raw text)`.execute(
    database.db,
  );
  const columns = [
    'id',
    'line',
    'record_id',
    'service',
    'identity',
    'called',
    'start_ms',
    'duration',
    'up',
    'down',
    'raw',
  ];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const inserter = new BulkInserter('raw_usage' as any, columns);
  const source = parseSourceDefinition(SOURCE);
  const reader = readerForSource(source);
  const settings = readerSettingsOf(source);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let pending: ReadItem[] = [];
  let id = 0;
  const flush = async (items: ReadItem[]): Promise<void> => {
    const values: unknown[] = [];
    for (const item of items) {
      if (item.kind !== 'record') {
        values.push(id++, item.position.line, null, null, null, null, null, null, null, null, item.raw);
        continue;
      }
      const r = item.input;
      values.push(
        id++,
        item.position.line,
        r.sourceRecordId ?? null,
        r.service,
        r.identity,
        r.calledNumber ?? null,
        r.startMs,
        r.durationSec,
        r.volumeUpBytes,
        r.volumeDownBytes,
        item.raw,
      );
    }
    await inTransaction(database, (tx) => inserter.insert(tx, values));
  };
  for await (const batch of reader(openUsageFile(file), settings, { byteOffset: 0, line: 1 })) {
    for (const item of batch) pending.push(item);
    while (pending.length >= 10_000) {
      await flush(pending.slice(0, 10_000));
      pending = pending.slice(10_000);
    }
  }
  if (pending.length > 0) await flush(pending);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  if (id !== CDRS) throw new Error(`floor read ${id} records of ${CDRS}`);
  console.log(
    `  floor ${run + 1}: ${CDRS} CDRs parsed and inserted raw in ${seconds.toFixed(2)} s = ${Math.round(CDRS / seconds).toLocaleString('en-US')}/s; ${cpuText(cpu)}`,
  );
  await database.close();
  if (process.env.BENCH_KEEP_DB === '1') {
    console.log(`  database kept: ${path} (BENCH_KEEP_DB=1)`);
    return CDRS / seconds;
  }
  rmSync(path, { force: true });
  rmSync(`${path}-wal`, { force: true });
  rmSync(`${path}-shm`, { force: true });
  return CDRS / seconds;
}

/**
 * The process's CPU time over a run: on a shared machine the wall-clock rate also measures the
 * neighbours (CPU and disk), the CPU time much less so.
 */
function cpuText(cpu: NodeJS.CpuUsage): string {
  return `CPU ${(cpu.user / 1e6).toFixed(2)} s user + ${(cpu.system / 1e6).toFixed(2)} s system`;
}

async function main(): Promise<void> {
  console.log(
    `rating bench: node ${process.version}, load average ${loadavg()[0]?.toFixed(2)} on ${availableParallelism()} cores`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-rating-'));
  try {
    let t = performance.now();
    const template = await prepareTemplate(dir);
    console.log(
      `setup: demo catalog + ${SUBSCRIBERS} subscribers in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const file = join(dir, 'cdrs.csv');
    t = performance.now();
    writeCdrFile(file);
    console.log(`generated ${CDRS} CDRs in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const rates: number[] = [];
    const floors: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      floors.push(await runFloor(dir, file, run));
      rates.push(await runImport(template.path, dir, file, run));
    }
    const rate = median(rates);
    const floor = median(floors);
    console.log(
      `end to end: median ${Math.round(rate).toLocaleString('en-US')} CDRs/s; floor ${Math.round(floor).toLocaleString('en-US')}/s; ratio ${(rate / floor).toFixed(2)}`,
    );
    const pure =
      process.env.BENCH_PURE === '0'
        ? { perSec: 0 }
        : measurePureRating({ log: (line: string) => console.log(`  ${line}`) });
    console.log(`pure rating: ${Math.round(pure.perSec).toLocaleString('en-US')} events/s`);
    console.log(
      `targets: ≥ 400k CDRs/s ${rate >= 400_000 ? 'met' : 'MISSED'}; ratio ≥ 0.8 ${rate / floor >= 0.8 ? 'met' : 'MISSED'}; ` +
        `pure ≥ 5M/s ${pure.perSec >= 5_000_000 ? 'met' : 'MISSED'}`,
    );
    console.log(
      JSON.stringify({
        bench: 'rating',
        cdrs_per_sec: Math.round(rate),
        floor_cdrs_per_sec: Math.round(floor),
        ratio_to_floor: Number((rate / floor).toFixed(3)),
        pure_rating_per_sec: Math.round(pure.perSec),
        cores: availableParallelism(),
      }),
    );
  } finally {
    if (process.env.BENCH_KEEP_DB !== '1') rmSync(dir, { recursive: true, force: true });
  }
}

await main();
