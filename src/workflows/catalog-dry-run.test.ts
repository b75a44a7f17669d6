/**
 * The dry run over past usage: the rated records of a time range are priced again under the
 * versions in force and under a draft tariff version, per offer and zone.
 *
 * The usage is the shared test file (src/testing/usage.ts): Clara Weber on MOBILE-POSTPAID-M,
 * Saturday 28 November 2026 in Berlin (off-peak all day), 4 records rated. Priced without
 * allowances (the dry run compares prices, not bills), under MOBILE-STANDARD:
 * - c1, 300 s to a German mobile (DE-mobile, off-peak 0.08/min, 60/1): 300 × 0.08 / 60 = 0.40;
 * - c2, 125 s to the UK (WORLD, 60/60 → 180 s): 3 × 0.99 + 0.25 connect = 3.22;
 * - c3, one SMS at home: 0.09;
 * - c4, 500,000 + 1,500,000 bytes at home: 20 blocks of 100 kB × 0.001 = 0.02.
 * The draft doubles the WORLD minute to 1.98: c2 becomes 3 × 1.98 + 0.25 = 6.19 (+2.97).
 */
import { before, after, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeClock } from '../kernel/clock.js';
import { isTollgateError } from '../kernel/errors.js';
import { describeEachDialect } from '../testing/databases.js';
import { TEST_CSV_LINES, testCsvSource } from '../testing/usage.js';
import type { Caller, WorkflowDeps } from './context.js';
import { createTenant } from './tenants.js';
import { addTariffVersion, applyCatalog, dryRun, pastUsageSample, tariffVersionAt } from './catalog.js';
import { importCustomers, importRecordsFromCsv } from './customers.js';
import { defineSource, importUsageFile } from './usage.js';

const example = (path: string) =>
  readFileSync(fileURLToPath(new URL(`../../examples/${path}`, import.meta.url)), 'utf8');

interface VoiceRate {
  zone: string;
  currency: string;
  unitPrice: string;
}
interface Definition {
  currencies: string[];
  voice: { rates: VoiceRate[] };
  data: Array<{ currency: string }>;
  events: Array<{ currency: string }>;
}

describeEachDialect('catalog dry run over past usage', (db) => {
  const clock = new FakeClock('2026-11-29T12:00:00.000Z');
  const deps = (): WorkflowDeps => ({ database: db(), clock });
  const day = { from: '2026-11-28T00:00:00Z', to: '2026-11-29T00:00:00Z' };
  let caller: Caller;
  let current: Definition;
  let dir: string;

  before(async () => {
    const tenant = await createTenant(deps(), { type: 'system', id: 'test' }, { slug: 'dry', name: 'Dry' });
    caller = { tenantId: tenant.id, actor: { type: 'system', id: 'test' } };
    await applyCatalog(deps(), caller, [{ file: 'demo.yaml', text: example('catalog/demo-operator.yaml') }]);
    const customers = importRecordsFromCsv(example('customers/demo-customers.csv'));
    const report = await importCustomers(deps(), caller, customers, { atomic: true });
    assert.equal(report.rejected, 0);
    await defineSource(deps(), caller, testCsvSource('msc-test'));
    dir = mkdtempSync(join(tmpdir(), 'tollgate-dry-run-'));
    const file = join(dir, 'msc.csv');
    writeFileSync(file, `${TEST_CSV_LINES.join('\n')}\n`);
    const imported = await importUsageFile(deps(), caller, { source: 'msc-test', path: file });
    assert.equal(imported.import.rated, 4);
    const inForce = await tariffVersionAt(deps(), caller.tenantId, 'MOBILE-STANDARD', day.from);
    current = inForce.version.definition as unknown as Definition;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function draftOf(change: (definition: Definition) => void, effectiveFrom: string) {
    const definition = structuredClone(current);
    change(definition);
    return addTariffVersion(
      deps(),
      caller,
      'MOBILE-STANDARD',
      { effectiveFrom, definition },
      { draft: true },
    );
  }

  it('samples the rated records of a time range, with the offer that priced each', async () => {
    const sample = await pastUsageSample(deps(), caller.tenantId, day);
    assert.deepEqual(
      sample.map((s) => [s.offer, s.service]),
      [
        ['MOBILE-POSTPAID-M', 'voice'],
        ['MOBILE-POSTPAID-M', 'voice'],
        ['MOBILE-POSTPAID-M', 'sms'],
        ['MOBILE-POSTPAID-M', 'data'],
      ],
    );
    assert.equal(sample[3]!.bytes, '2000000');
    assert.equal((await pastUsageSample(deps(), caller.tenantId, { ...day, limit: 2 })).length, 2);
    const before = { from: '2026-11-27T00:00:00Z', to: '2026-11-28T00:00:00Z' };
    assert.deepEqual(await pastUsageSample(deps(), caller.tenantId, before), []);
    await assert.rejects(
      pastUsageSample(deps(), caller.tenantId, { from: day.to, to: day.from }),
      (error: unknown) => isTollgateError(error) && error.code === 'catalog.invalid_usage_sample',
    );
  });

  it('reports the revenue delta of a draft on that usage, per offer and zone', async () => {
    const draft = await draftOf((definition) => {
      definition.voice.rates.find((rate) => rate.zone === 'WORLD')!.unitPrice = '1.98';
    }, '2027-01-01T00:00:00Z');
    const events = await pastUsageSample(deps(), caller.tenantId, day);
    const report = await dryRun(deps(), caller.tenantId, { tariffVersionId: draft.id, events });
    assert.deepEqual(report.errors, []);
    assert.equal(report.priced, 4);
    const line = (zone: string, events: number, current: string, draft: string, delta: string) => ({
      offer: 'MOBILE-POSTPAID-M',
      zone,
      currency: 'EUR',
      events,
      current,
      draft,
      delta,
    });
    assert.deepEqual(report.lines, [
      line('DE-mobile', 1, '0.4', '0.4', '0'),
      line('WORLD', 1, '3.22', '6.19', '2.97'),
      line('home', 2, '0.11', '0.11', '0'),
    ]);
    assert.deepEqual(report.totals, [{ currency: 'EUR', current: '3.73', draft: '6.7', delta: '2.97' }]);
  });

  it('prices usage as rating receives it: a home-phone call arrives as voice on a VoIP product', async () => {
    // BROADBAND-500 prices its home phone through the product FIXED-VOIP (service voip); switches
    // and rating report such a call as voice, and so does a sample of past usage.
    const report = await dryRun(deps(), caller.tenantId, {
      events: [
        {
          offer: 'BROADBAND-500',
          service: 'voice',
          occurredAt: '2026-11-28T10:00:00Z',
          calledNumber: '4930123456',
          durationSec: 60,
        },
      ],
    });
    assert.deepEqual(report.errors, []);
    assert.equal(report.priced, 1);
  });

  it('names each event a draft cannot price in the currency it was charged in, instead of counting 0', async () => {
    const draft = await draftOf((definition) => {
      definition.currencies = ['USD'];
      for (const priced of [...definition.voice.rates, ...definition.data, ...definition.events])
        priced.currency = 'USD';
    }, '2027-02-01T00:00:00Z');
    const events = await pastUsageSample(deps(), caller.tenantId, day);
    const report = await dryRun(deps(), caller.tenantId, { tariffVersionId: draft.id, events });
    assert.equal(report.priced, 0);
    assert.deepEqual(report.lines, []);
    assert.equal(report.errors.length, 4);
    for (const error of report.errors) assert.match(error.message, /EUR/);
  });
});
