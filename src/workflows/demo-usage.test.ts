import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeClock } from '../kernel/clock.js';
import { describeEachDialect } from '../testing/databases.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { seedDemoIfEmpty, type DemoSeed } from './demo.js';
import {
  DemoRandom,
  demoDayBefore,
  demoSubscribersFromCsv,
  generateDemoTraffic,
  seedDemoUsage,
} from './demo-usage.js';
import { dailyControls, listRejects } from './usage.js';
import { listRatedUsage } from './usage-rating.js';

const SOURCES_FILE = fileURLToPath(new URL('../../examples/usage/sources.yaml', import.meta.url));
const usageSources = { file: 'examples/usage/sources.yaml', text: readFileSync(SOURCES_FILE, 'utf8') };
const subscribers = () => demoSubscribersFromCsv(loadDemoFiles().customers.text);

describe('the demo day of traffic (pure)', () => {
  it('is the local day before now, 23 or 25 hours long on the DST days', () => {
    // 10:00 UTC on Monday 30 March 2026 is 12:00 in Berlin; the day before lost an hour at 02:00.
    const spring = demoDayBefore(Date.parse('2026-03-30T10:00:00Z'));
    assert.equal(spring.date, '2026-03-29');
    assert.equal(spring.weekday, 6, 'a Sunday');
    assert.equal(spring.startMs, Date.parse('2026-03-28T23:00:00Z'));
    assert.equal(spring.endMs - spring.startMs, 23 * 3_600_000);
    const autumn = demoDayBefore(Date.parse('2026-10-26T10:00:00Z'));
    assert.equal(autumn.date, '2026-10-25');
    assert.equal(autumn.endMs - autumn.startMs, 25 * 3_600_000);
    // 23:30 UTC on 28 November is already 29 November in Berlin: the day before is the 28th.
    assert.equal(demoDayBefore(Date.parse('2026-11-28T23:30:00Z')).date, '2026-11-28');
  });

  it('is the same for the same day and differs from one day to the next', () => {
    const list = subscribers();
    const a = generateDemoTraffic(Date.parse('2026-11-25T09:00:00Z'), list);
    const b = generateDemoTraffic(Date.parse('2026-11-25T21:00:00Z'), list);
    const c = generateDemoTraffic(Date.parse('2026-11-26T09:00:00Z'), list);
    assert.deepEqual(a, b);
    assert.notEqual(a.files[0]!.text, c.files[0]!.text);
    const random = new DemoRandom(42);
    const draws = Array.from({ length: 1000 }, () => random.next());
    assert.ok(draws.every((x) => x >= 0 && x < 1));
    assert.ok(Math.abs(draws.reduce((s, x) => s + x, 0) / draws.length - 0.5) < 0.05);
  });

  it('holds a few thousand plausible records for the demo identities, in three formats', () => {
    const list = subscribers();
    assert.equal(list.filter((s) => s.msisdn !== undefined).length, 28);
    assert.equal(list.filter((s) => s.sipUri !== undefined).length, 1);
    assert.equal(list.filter((s) => s.deviceId !== undefined).length, 10);
    // A weekday (Wednesday 25 November 2026) and a Saturday (28 November).
    for (const now of ['2026-11-26T09:00:00Z', '2026-11-29T09:00:00Z']) {
      const traffic = generateDemoTraffic(Date.parse(now), list);
      const [mobile, fixed, iot] = traffic.files;
      assert.deepEqual(
        traffic.files.map((f) => f.source),
        ['mobile-core', 'fixed-voip', 'iot-platform'],
      );
      const total = traffic.files.reduce((sum, f) => sum + f.records, 0);
      assert.ok(total > 1500 && total < 5000, `${now}: ${total} records`);
      // Ten meters, one reading per quarter hour (96 a day), plus alarms and two bad lines.
      assert.ok(iot!.records >= 962 && iot!.records <= 972, `${iot!.records} IoT records`);
      assert.ok(fixed!.records >= 3, 'a few home-phone calls');
      const lines = mobile!.text.trimEnd().split('\n');
      assert.equal(lines.length - 1, mobile!.records);
      const calls = lines.filter((l) => l.includes(',MOC,'));
      const international = calls.filter((l) => /,MOC,\d+,00/.test(l));
      assert.ok(international.length > 0 && international.length < calls.length / 2);
      assert.ok(lines.some((l) => l.endsWith(',21401,Y')) && lines.some((l) => l.endsWith(',310260,Y')));
      for (const record of lines.slice(1)) {
        const cells = record.split(',');
        if (cells.length !== 12) continue; // the deliberately truncated line
        assert.ok(cells[4]!.startsWith(traffic.day.date), record);
      }
    }
  });
});

describeEachDialect('the demo seed with a day of usage', (db) => {
  // Sunday 29 November 2026, 09:00 in Berlin: the demo day is Saturday the 28th.
  const clock = new FakeClock('2026-11-29T08:00:00.000Z');
  const deps = () => ({ database: db(), clock });
  let dir: string;
  let seed: DemoSeed;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tollgate-demo-usage-'));
    const seeded = await seedDemoIfEmpty(
      deps(),
      { ...loadDemoFiles(), usageSources },
      { usageDirectory: join(dir, 'demo-usage') },
    );
    assert.ok(seeded);
    seed = seeded;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('imports the day from three sources: every record rated, rejected for a reason, or a duplicate', async () => {
    const usage = seed.usage;
    assert.ok(usage, 'the usage part was seeded');
    assert.equal(usage.day, '2026-11-28');
    assert.deepEqual(usage.sources, ['mobile-core', 'fixed-voip', 'iot-platform']);
    assert.equal(usage.imports.length, 3);
    for (const i of usage.imports) {
      assert.equal(i.status, 'completed', i.file);
      assert.equal(i.recordsIn, i.rated + i.rejected + i.duplicates, i.file);
      assert.ok(i.rated > 0, `${i.source} rated some records`);
      assert.match(i.file, /demo-usage[/\\]2026-11-28[/\\]/);
    }
    assert.equal(usage.rejected, 5);
    assert.equal(usage.duplicates, 1);
    assert.ok(usage.recordsIn > 1500, String(usage.recordsIn));

    const rejects = await listRejects(deps(), seed.tenantId, { status: 'open', limit: 100 });
    assert.deepEqual(rejects.map((r) => `${r.source} ${r.reason}`).sort(), [
      'fixed-voip unparseable',
      'iot-platform malformed_record',
      'iot-platform unknown_subscriber',
      'mobile-core duplicate',
      'mobile-core malformed_record',
      'mobile-core unknown_subscriber',
    ]);
    const days = await dailyControls(deps(), seed.tenantId, {});
    assert.ok(days.length > 0 && days.every((d) => d.balanced));
  });

  it('rates roaming in its zones, the home phone by its SIP URI and the meters from the pool', async () => {
    const all = [];
    for (const i of seed.usage!.imports) {
      all.push(...(await listRatedUsage(deps(), seed.tenantId, { importId: i.importId, limit: 5000 })));
    }
    const zones = new Set(all.map((r) => r.zone));
    for (const zone of ['DE-mobile', 'DE-fixed', 'EU-roaming', 'WORLD-roaming'])
      assert.ok(zones.has(zone), zone);
    assert.ok(
      all.some((r) => r.service === 'voice' && r.amountPico > 0n),
      'some calls cost money',
    );
    assert.ok(
      all.some((r) => r.service === 'voice' && r.allowanceUnits > 0),
      'some calls use minutes',
    );
    const home = all.filter((r) => r.identity.startsWith('sip:'));
    assert.ok(home.length >= 3);
    assert.ok(
      home.some((r) => r.durationSec === 0),
      'the unanswered call is a record of 0 s',
    );
    const meters = all.filter((r) => r.service === 'iot');
    const readings = meters.filter((r) => r.eventCount === 0);
    assert.ok(readings.length >= 950);
    assert.ok(
      readings.every((r) => r.amountPico === 0n && r.allowanceUnits === r.volumeUpBytes + r.volumeDownBytes),
    );
    const alarms = meters.filter((r) => r.eventCount === 1);
    assert.ok(
      alarms.every((r) => r.amountPico === 20_000_000_000n),
      'an SMS alarm costs 0.02 EUR',
    );
  });

  it('seeded again for the same day, imports nothing twice', async () => {
    const again = await seedDemoUsage(
      deps(),
      { tenantId: seed.tenantId, actor: { type: 'system', id: 'test' } },
      { sources: usageSources, customers: loadDemoFiles().customers, directory: join(dir, 'demo-usage') },
    );
    assert.deepEqual(
      again.imports.map((i) => i.importId),
      seed.usage!.imports.map((i) => i.importId),
    );
    assert.equal(again.recordsIn, seed.usage!.recordsIn);
    const days = await dailyControls(deps(), seed.tenantId, {});
    assert.equal(
      days.reduce((sum, d) => sum + d.recordsIn, 0),
      seed.usage!.recordsIn,
    );
  });
});
