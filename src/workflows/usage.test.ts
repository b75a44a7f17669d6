import { before, after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { describeEachDialect } from '../testing/databases.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { seedDemoIfEmpty } from './demo.js';
import { findTenant } from './tenants.js';
import type { Caller, WorkflowDeps } from './context.js';
import {
  correctReject,
  dailyControls,
  defineSource,
  getSource,
  importUsageFile,
  ingestJsonRecords,
  listRejects,
  streamImportOf,
  reprocessRejects,
} from './usage.js';
import { allowanceFields, explainUsage, listRatedUsage, rerateUsage } from './usage-rating.js';
import {
  TEST_CSV_HEADER,
  TEST_CSV_LINES,
  TEST_CSV_MAPPING,
  TEST_NUMBERING,
  testCsvSource,
} from '../testing/usage.js';
import { loadCounters } from '../usage/store.js';
import { correctTariffVersion, getTariffVersion, tariffVersionAt } from './catalog.js';
import { jsonLineToItem } from '../usage/readers/index.js';
import { readerSettingsOf, type ReadItem } from '../usage/index.js';
import { UsagePipeline } from './usage-pipeline.js';
import { SubscriberDirectory } from './usage-directory.js';
import { createBatchRater, OnlinePricer } from './usage-rating.js';

const SOURCE = testCsvSource('msc-test');
const LINES = TEST_CSV_LINES;

describeEachDialect('workflows: usage import, rejects, controls and re-rating', (db) => {
  const clock = new FakeClock('2026-11-29T12:00:00.000Z');
  const deps = (): WorkflowDeps => ({ database: db(), clock });
  let caller: Caller;
  let dir: string;
  let file: string;

  before(async () => {
    await seedDemoIfEmpty(deps(), loadDemoFiles());
    const tenant = await findTenant(deps(), 'demo');
    caller = { tenantId: tenant!.id, actor: { type: 'system', id: 'test' } };
    await defineSource(deps(), caller, SOURCE);
    dir = mkdtempSync(join(tmpdir(), 'tollgate-usage-'));
    file = join(dir, 'msc-20261128.csv');
    writeFileSync(file, `${LINES.join('\n')}\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('accounts for every record: rated, rejected with a reason, or duplicate', async () => {
    const result = await importUsageFile(deps(), caller, { source: 'msc-test', path: file });
    const i = result.import;
    assert.equal(i.status, 'completed');
    assert.deepEqual(
      { in: i.recordsIn, rated: i.rated, rejected: i.rejected, duplicates: i.duplicates },
      { in: 8, rated: 4, rejected: 3, duplicates: 1 },
    );
    const rejects = await listRejects(deps(), caller.tenantId, { importId: i.id, limit: 10 });
    const byLine = new Map(rejects.map((r) => [r.line, r]));
    assert.equal(byLine.get(6)?.reason, 'unknown_subscriber');
    assert.equal(byLine.get(7)?.reason, 'unparseable');
    assert.match(byLine.get(7)?.message ?? '', /line 7/);
    assert.equal(byLine.get(8)?.kind, 'duplicate');
    assert.equal(byLine.get(9)?.reason, 'future_event');
    for (const reject of rejects) assert.ok(reject.raw.startsWith(LINES[reject.line - 1]!.slice(0, 3)));

    const days = await dailyControls(deps(), caller.tenantId, {});
    assert.ok(days.every((d) => d.balanced));

    const rated = await listRatedUsage(deps(), caller.tenantId, { importId: i.id, limit: 10 });
    const byId = new Map(rated.map((r) => [r.sourceRecordId, r]));
    assert.equal(byId.get('c1')?.amountPico, 0n);
    assert.equal(byId.get('c1')?.allowanceUnits, 300);
    assert.equal(byId.get('c2')?.amountPico, 3_220_000_000_000n);
    assert.equal(byId.get('c2')?.zone, 'WORLD');
    assert.equal(byId.get('c2')?.matchedPrefix, '44');
    assert.equal(byId.get('c2')?.currency, 'EUR');
    assert.equal(byId.get('c3')?.amountPico, 0n);
    assert.equal(byId.get('c4')?.allowanceUnits, 2_000_000);
    const explanation = await explainUsage(deps(), caller.tenantId, byId.get('c2')!.id);
    assert.ok(explanation.lines.some((line) => /Formula:/.test(line)));
    assert.ok(explanation.lines.some((line) => /3\.22 EUR/.test(line)));
  });

  it('refuses the same file twice unless forced; forced, every record is a duplicate', async () => {
    await assert.rejects(
      importUsageFile(deps(), caller, { source: 'msc-test', path: file }),
      (error: unknown) => {
        assert.ok(isTollgateError(error));
        assert.equal(error.code, 'usage.already_imported');
        return true;
      },
    );
    const again = await importUsageFile(deps(), caller, { source: 'msc-test', path: file, force: true });
    // Records already rated are duplicates; the ones rejected before are rejected again.
    assert.equal(again.import.rated, 0);
    assert.equal(again.import.duplicates, 5);
    assert.equal(again.import.rejected, 3);
  });

  it('reprocesses a corrected reject once: the counts move from rejected to rated', async () => {
    const [reject] = await listRejects(deps(), caller.tenantId, { reason: 'unparseable', limit: 1 });
    assert.ok(reject);
    await correctReject(deps(), caller, reject.id, reject.raw.replace(',6O,', ',60,'));
    const before = await dailyControls(deps(), caller.tenantId, {});
    const result = await reprocessRejects(deps(), caller, { ids: [reject.id] });
    assert.deepEqual(result, { attempted: 1, rated: 1, stillRejected: 0, duplicates: 0 });
    const afterDays = await dailyControls(deps(), caller.tenantId, {});
    const sum = (rows: typeof before, key: 'recordsIn' | 'rated' | 'rejected') =>
      rows.reduce((s, d) => s + d[key], 0);
    assert.equal(sum(afterDays, 'recordsIn'), sum(before, 'recordsIn'));
    assert.equal(sum(afterDays, 'rated'), sum(before, 'rated') + 1);
    assert.equal(sum(afterDays, 'rejected'), sum(before, 'rejected') - 1);
    assert.ok(afterDays.every((d) => d.balanced));
    // A second reprocess finds nothing open with that id.
    assert.equal((await reprocessRejects(deps(), caller, { ids: [reject.id] })).attempted, 0);
  });

  it('re-rating with an unchanged catalog writes nothing, twice', async () => {
    const rated = await listRatedUsage(deps(), caller.tenantId, { limit: 1 });
    const subscriptionId = rated[0]!.subscriptionId;
    const window = { subscriptionId, from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z' };
    const first = await rerateUsage(deps(), caller, window);
    assert.equal(first.examined, 5);
    assert.equal(first.deltas, 0);
    assert.equal(first.failed, 0);
    const second = await rerateUsage(deps(), caller, window);
    assert.equal(second.deltas, 0);
    // A whole period, every subscription: still nothing to correct.
    const period = await rerateUsage(deps(), caller, { from: window.from, to: window.to });
    assert.ok(period.examined >= 5);
    assert.equal(period.deltas, 0);
  });

  it('reprocesses a reject of a Latin-1 source in Latin-1: its text comes back as it was', async () => {
    await defineSource(
      deps(),
      caller,
      testCsvSource('latin1-test', { mapping: { ...TEST_CSV_MAPPING, encoding: 'latin1' } }),
    );
    const latin1File = join(dir, 'latin1.csv');
    // "é" is the one octet E9 in Latin-1. The number is nobody's: the record is rejected.
    writeFileSync(
      latin1File,
      Buffer.from(`${TEST_CSV_HEADER}\nlé1,SMS,015199999999,01701234567,2026-11-28 15:00:00,,,\n`, 'latin1'),
    );
    const imported = await importUsageFile(deps(), caller, { source: 'latin1-test', path: latin1File });
    const [reject] = await listRejects(deps(), caller.tenantId, { importId: imported.import.id, limit: 1 });
    assert.equal(reject?.raw.startsWith('lé1,'), true);
    // Corrected to Clara's number and reprocessed: rated, with the record id as the file wrote it.
    await correctReject(deps(), caller, reject!.id, reject!.raw.replace('015199999999', '015120000003'));
    assert.equal((await reprocessRejects(deps(), caller, { ids: [reject!.id] })).rated, 1);
    const rated = await listRatedUsage(deps(), caller.tenantId, { importId: imported.import.id, limit: 1 });
    assert.equal(rated[0]?.sourceRecordId, 'lé1');
  });

  it('keeps counters true when another writer draws the same allowance between batches of an import', async () => {
    // An import's rater keeps counters in memory between its batches (SQLite); a record arriving
    // another way in between must make it read them again, or its next batch would write back
    // stale counters and the allowance would be drawn twice. One pipeline (as an import runs it)
    // rates 50-minute national calls two per batch, and between its batches API records for the
    // same subscriber draw the same minutes allowance. Afterwards the stored minutes counter must
    // equal the minutes drawn by all rated records.
    await defineSource(deps(), caller, {
      name: 'side-api',
      format: 'jsonl',
      timeZone: 'Europe/Berlin',
      numbering: TEST_NUMBERING,
    });
    const source = (await getSource(deps(), caller.tenantId, 'side-api')).definition;
    const importId = await streamImportOf(deps(), caller, 'side-api', '2026-11-29');
    const pipeline = new UsagePipeline({
      database: db(),
      clock,
      tenantId: caller.tenantId,
      source,
      importId,
      directory: new SubscriberDirectory(db(), caller.tenantId),
      rater: createBatchRater(deps(), caller.tenantId),
    });
    const settings = readerSettingsOf(source);
    const call = (id: string, hour: number, durationSec: number): ReadItem =>
      jsonLineToItem(
        JSON.stringify({
          sourceRecordId: id,
          service: 'voice',
          identity: '015120000003',
          calledNumber: '01701234567',
          start: `2026-11-28T${String(hour).padStart(2, '0')}:00:00Z`,
          durationSec,
        }),
        settings,
        { line: 1, byteOffset: 0 },
      );
    for (let batch = 0; batch < 6; batch++) {
      const outcome = await pipeline.processBatch(
        [call(`k${batch}a`, 14 + batch, 3000), call(`k${batch}b`, 14 + batch, 3000)],
        undefined,
      );
      assert.equal(outcome.rated, 2);
      // Another way in: one API record of 10 minutes, through its own pipeline.
      const side = await ingestJsonRecords(deps(), caller, 'side-api', [
        {
          sourceRecordId: `side-${batch}`,
          service: 'voice',
          identity: '015120000003',
          calledNumber: '01701234567',
          start: `2026-11-28T0${batch}:30:00Z`,
          durationSec: 600,
        },
      ]);
      assert.equal(side.rated, 1);
    }

    const rated = await listRatedUsage(deps(), caller.tenantId, { service: 'voice', limit: 500 });
    const clara = rated.filter((r) => r.identity === '4915120000003');
    const drawn = clara.reduce((sum, r) => sum + r.allowanceUnits, 0);
    const counters = await loadCounters(db().db, caller.tenantId, [clara[0]!.subscriptionId]);
    const minutes = counters.filter((c) => allowanceFields(c.state).unit === 'second');
    assert.equal(minutes.length, 1);
    assert.equal(minutes[0]!.used, drawn);
    // 500 minutes granted; twelve 50-minute calls and six 10-minute ones cannot all fit.
    assert.equal(drawn, 30_000);
    assert.ok(clara.some((r) => r.amountPico > 0n));
  });
  it('re-rates after a tariff correction: one delta per changed record, across many records, and nothing the second time', async () => {
    // 1 100 calls to the UK (WORLD: 0.99 EUR a minute at 60/60 + 0.25 connect; 125 s → 3.22 EUR),
    // more than one group of listCorrections (500 originals per query) on the second run.
    const count = 1_100;
    const lines = [TEST_CSV_HEADER];
    for (let i = 0; i < count; i++) {
      const second = 14 * 3600 + i * 7;
      const hh = String(Math.floor(second / 3600)).padStart(2, '0');
      const mm = String(Math.floor(second / 60) % 60).padStart(2, '0');
      const ss = String(second % 60).padStart(2, '0');
      lines.push(`uk${i},VOICE,015120000003,00442079460000,2026-11-28 ${hh}:${mm}:${ss},125,,`);
    }
    const calls = join(dir, 'msc-uk-calls.csv');
    writeFileSync(calls, `${lines.join('\n')}\n`);
    const imported = await importUsageFile(deps(), caller, { source: 'msc-test', path: calls });
    assert.equal(imported.import.rated, count);
    const originals = (
      await listRatedUsage(deps(), caller.tenantId, { importId: imported.import.id, limit: 2_000 })
    ).filter((r) => r.kind === 'original');
    assert.equal(originals.length, count);
    assert.ok(originals.every((r) => r.amountPico === 3_220_000_000_000n));

    // The WORLD rate was wrong: 0.89, not 0.99. Correct the version the calls were rated with.
    const usedVersion = originals[0]!.tariffVersionId!;
    const old = await getTariffVersion(deps(), caller.tenantId, usedVersion);
    const definition = structuredClone(old.definition) as {
      voice: { rates: Array<{ zone: string; unitPrice: string }> };
    };
    const world = definition.voice.rates.find((r) => r.zone === 'WORLD')!;
    assert.equal(world.unitPrice, '0.99');
    world.unitPrice = '0.89';
    await assert.rejects(
      correctTariffVersion(deps(), caller, usedVersion, { definition, reason: '  ' }),
      (error: unknown) => isTollgateError(error) && error.field === '/reason',
    );
    const corrected = await correctTariffVersion(deps(), caller, usedVersion, {
      definition,
      reason: 'WORLD rate loaded as 0.99 instead of 0.89',
    });
    assert.equal(corrected.effectiveFrom, old.effectiveFrom);
    assert.equal(corrected.effectiveTo, old.effectiveTo);
    assert.deepEqual(corrected.correction, {
      correctsVersionId: usedVersion,
      reason: 'WORLD rate loaded as 0.99 instead of 0.89',
    });
    assert.equal((await getTariffVersion(deps(), caller.tenantId, usedVersion)).status, 'superseded');
    // Corrected once; the superseded version cannot be corrected again.
    await assert.rejects(
      correctTariffVersion(deps(), caller, usedVersion, { definition, reason: 'again' }),
      (error: unknown) => isTollgateError(error) && error.code === 'catalog.version_not_correctable',
    );

    const window = {
      subscriptionId: originals[0]!.subscriptionId,
      from: '2026-11-01T00:00:00Z',
      to: '2026-12-01T00:00:00Z',
    };
    const first = await rerateUsage(deps(), caller, window);
    assert.equal(first.failed, 0);
    const deltas = (
      await listRatedUsage(deps(), caller.tenantId, { subscriptionId: window.subscriptionId, limit: 5_000 })
    ).filter((r) => r.kind === 'rerate');
    assert.equal(deltas.length, first.deltas);
    // One delta per UK call: 3 × 0.89 + 0.25 = 2.92 EUR, so −0.30 EUR each, naming the corrected
    // version. (The earlier tests' national calls may get deltas too: re-rating draws the minutes
    // allowance in event order, which is not the order they arrived in.)
    const ids = new Set(originals.map((r) => r.id));
    const ukDeltas = deltas.filter((d) => d.correctsId !== undefined && ids.has(d.correctsId));
    assert.equal(ukDeltas.length, count);
    assert.ok(ukDeltas.every((d) => d.amountPico === -300_000_000_000n));
    assert.ok(ukDeltas.every((d) => d.tariffVersionId === corrected.id));
    const explanation = await explainUsage(deps(), caller.tenantId, originals[count - 1]!.id);
    assert.ok(
      explanation.lines.some((line) => /^Re-rated .*: -0\.3 EUR$/.test(line)),
      explanation.lines.join('\n'),
    );
    // The originals are as they were: rated usage is append-only.
    const again = (
      await listRatedUsage(deps(), caller.tenantId, { importId: imported.import.id, limit: 2_000 })
    ).filter((r) => r.kind === 'original');
    assert.ok(again.every((r) => r.amountPico === 3_220_000_000_000n));

    const second = await rerateUsage(deps(), caller, window);
    assert.deepEqual({ deltas: second.deltas, failed: second.failed }, { deltas: 0, failed: 0 });
  });
  it('an online pricer notices a change of the catalog, also one made elsewhere', async () => {
    const pricer = await OnlinePricer.load(db().db, caller.tenantId);
    assert.equal(await pricer.isCurrent(db().db), true);
    const { version } = await tariffVersionAt(
      deps(),
      caller.tenantId,
      'MOBILE-STANDARD',
      '2026-11-28T00:00:00Z',
    );
    await correctTariffVersion(deps(), caller, version.id, {
      definition: version.definition,
      reason: 'fingerprint check',
    });
    assert.equal(await pricer.isCurrent(db().db), false);
    assert.equal(await (await OnlinePricer.load(db().db, caller.tenantId)).isCurrent(db().db), true);
  });
  it('opens one stream import per source and day, also for concurrent first requests', async () => {
    const ids = await Promise.all(
      Array.from({ length: 16 }, () => streamImportOf(deps(), caller, 'msc-test', '2026-11-27')),
    );
    assert.equal(new Set(ids).size, 1, ids.join(', '));
  });
});
