/**
 * Pure rating benchmark: `node --import tsx bench/rating-pure.ts`.
 *
 * Measures rateUsage + applyRating (the in-memory AllowanceLedger) on one core, by the wall
 * clock, median of 5 runs, on a realistic mix:
 *
 *   - 60% voice against a tariff of ~1000 prefixes in 100 zones, three time bands (peak Mon-Fri
 *     08:00-20:00, off-peak, weekend) in Europe/Berlin, per-band prices, mixed increments (60/60,
 *     30/6, 1/1), some connect fees and minimum charges; 3% of calls roaming in an EU zone;
 *   - 25% data sessions: 1 kB blocks priced by graduated tiers (first 100 MB, next 900 MB, rest),
 *     counted per billing month;
 *   - 15% SMS at a flat price.
 *
 * 80% of the subscribers hold a plan with a 300-minute voice allowance, a 250 MB data allowance
 * and 50 SMS a month, which run out during a run (each subscriber makes about 300 calls of 90 s
 * on average per run); the others pay for everything. Every run starts from an empty ledger.
 * Events fall in March 2026 (bill cycle day 1) and 5% in the first days of April, so periods
 * change during the run.
 *
 * Plans are compiled as the batch importer compiles them: through one RatingPlanCache, so the
 * subscribers of one offer share its template and each has a binding of a few fields.
 *
 * Settings (environment): BENCH_EVENTS (10000000), BENCH_RUNS (5), BENCH_SUBSCRIBERS (10000).
 * Each run line also gives events per CPU-second of the process (the machine may be shared).
 * The last line is one JSON object: {"bench":"rating-pure","pure_rating_per_sec":N,"cores":N}.
 */
import { availableParallelism } from 'node:os';
import { pathToFileURL } from 'node:url';
import { compileTariff, type TariffDefinition, type ZoneRate } from '../src/catalog/index.js';
import {
  AllowanceLedger,
  RatingPlanCache,
  RatingResult,
  applyRating,
  compileRatingPlan,
  rateUsage,
  type OfferVersionInput,
  type RatingPlan,
} from '../src/rating/index.js';
import type { UsageInput } from '../src/usage/index.js';
import { rng } from './common.js';

export interface PureRatingOptions {
  /** Events rated per run (default 10 000 000). */
  readonly events?: number;
  /** Runs; the median is reported (default 5). */
  readonly runs?: number;
  /** Subscriptions, each with its own plan binding (default 10 000). */
  readonly subscribers?: number;
  /** Distinct prepared events, cycled (default 2^20). */
  readonly distinctEvents?: number;
  /** Print a line per run (default false). */
  readonly log?: (line: string) => void;
}

export interface PureRatingMeasurement {
  /** Median events per second of the runs. */
  readonly perSec: number;
  /** Median events per CPU-second of the process (user + system) of the runs. */
  readonly perCpuSec: number;
  readonly runs: readonly number[];
  readonly events: number;
  readonly subscribers: number;
  /** Share of events that drew from an allowance, of the last run. */
  readonly coveredShare: number;
  /** Share of events with a charge computed by the bigint fallback, of the last run. */
  readonly bigintShare: number;
  readonly rejects: number;
  readonly checksumPico: bigint;
}

const INCREMENTS = [
  { firstSec: 60, nextSec: 60 },
  { firstSec: 30, nextSec: 6 },
  { firstSec: 1, nextSec: 1 },
];

/** The benchmark tariff: ~1000 prefixes in 100 zones, 3 bands, data tiers, SMS. */
export function benchTariff(): TariffDefinition {
  const random = rng(7);
  const int = (n: number): number => Math.floor(random() * n);
  const price = (): string => `0.${String(10 + int(990)).padStart(4, '0')}`;
  const zones: Array<{ id: string }> = [{ id: 'EU-roam' }];
  const rates: ZoneRate[] = [];
  const entries: Array<{ prefix: string; zone: string }> = [];
  const seen = new Set<string>();
  for (let z = 0; z < 100; z++) {
    const id = `Z${z}`;
    zones.push({ id });
    rates.push({
      zone: id,
      currency: 'EUR',
      connectFee: int(4) === 0 ? '0.01' : '0',
      unitSeconds: 60,
      unitPrice: price(),
      increments: INCREMENTS[int(INCREMENTS.length)] as ZoneRate['increments'],
      ...(int(5) === 0 ? { minimumCharge: '0.02' } : {}),
      bandPrices: [
        { band: 'off-peak', unitPrice: price() },
        { band: 'weekend', unitPrice: price() },
      ],
    });
  }
  rates.push({
    zone: 'EU-roam',
    currency: 'EUR',
    connectFee: '0',
    unitSeconds: 60,
    unitPrice: '0.05',
    increments: { firstSec: 30, nextSec: 1 },
  });
  // Country-like prefixes 2-3 digits, then operator blocks 4-6 digits under them.
  for (let cc = 20; cc < 100 && entries.length < 100; cc++) {
    const prefix = String(cc);
    seen.add(prefix);
    entries.push({ prefix, zone: `Z${entries.length}` });
  }
  while (entries.length < 1000) {
    const base = String(20 + int(80));
    let prefix = base;
    const length = 4 + int(3);
    while (prefix.length < length) prefix += String(int(10));
    if (seen.has(prefix)) continue;
    seen.add(prefix);
    entries.push({ prefix, zone: `Z${int(100)}` });
  }
  return {
    id: 'bench-mobile',
    name: 'Bench mobile',
    timeZone: 'Europe/Berlin',
    currencies: ['EUR'],
    zones,
    prefixTables: [{ id: 'world', name: 'World', entries }],
    voice: { prefixTableId: 'world', bandCrossing: 'start', rates },
    timeBands: {
      bands: [
        {
          name: 'peak',
          windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '08:00', to: '20:00' }],
        },
        { name: 'off-peak', windows: [] },
        { name: 'weekend', windows: [{ days: ['sat', 'sun'], from: '00:00', to: '24:00' }] },
      ],
      defaultBand: 'off-peak',
    },
    data: [
      {
        currency: 'EUR',
        blockBytes: 1000,
        pricing: {
          mode: 'graduated',
          tiers: [
            { upTo: '100000', unitPrice: '0.00001' },
            { upTo: '1000000', unitPrice: '0.000005' },
            { unitPrice: '0.000001' },
          ],
        },
      },
      {
        currency: 'EUR',
        roamingZone: 'EU-roam',
        blockBytes: 1000,
        pricing: { mode: 'flat', unitPrice: '0.00002' },
      },
    ],
    events: [
      { eventType: 'sms', currency: 'EUR', pricing: { mode: 'flat', unitPrice: '0.09' } },
      {
        eventType: 'sms',
        currency: 'EUR',
        roamingZone: 'EU-roam',
        pricing: { mode: 'flat', unitPrice: '0.05' },
      },
    ],
    roaming: {
      networks: [
        { mccMnc: '20801', zone: 'EU-roam' },
        { mccMnc: '21401', zone: 'EU-roam' },
      ],
    },
  };
}

function offer(code: string, withAllowances: boolean): OfferVersionInput {
  return {
    offerCode: code,
    versionId: `${code}-v1`,
    content: {
      prices: [
        { code: 'voice', kind: 'usage', product: 'VOICE', tariff: 'MOBILE' },
        { code: 'data', kind: 'usage', product: 'DATA', tariff: 'MOBILE' },
        { code: 'sms', kind: 'usage', product: 'SMS', tariff: 'MOBILE' },
      ],
      allowances: withAllowances
        ? [
            { code: 'VOICE-300', service: 'voice', quantity: '300', unit: 'minute', period: 'month' },
            { code: 'DATA-250MB', service: 'data', quantity: '250', unit: 'MB', period: 'month' },
            { code: 'SMS-50', service: 'sms', quantity: '50', unit: 'message', period: 'month' },
          ]
        : [],
    },
  };
}

interface Prepared {
  readonly plans: RatingPlan[];
  readonly events: UsageInput[];
  readonly planOf: Int32Array;
}

function prepare(subscribers: number, distinct: number): Prepared {
  const tariff = compileTariff(benchTariff());
  const products = new Map([
    ['VOICE', 'voice' as const],
    ['DATA', 'data' as const],
    ['SMS', 'sms' as const],
  ]);
  const tariffs = new Map([
    ['MOBILE', [{ versionId: 'MOBILE-v1', fromMs: Date.UTC(2025, 0, 1), compiled: tariff }]],
  ]);
  const withAllowances = offer('MOBILE-M', true);
  const without = offer('MOBILE-PAYG', false);
  // One template per offer, shared by its subscribers, as the batch importer compiles them.
  const cache = new RatingPlanCache();
  const plans: RatingPlan[] = [];
  for (let s = 0; s < subscribers; s++) {
    const result = compileRatingPlan(
      {
        subscriptionId: `sub-${s}`,
        accountId: `acc-${s}`,
        account: { currency: 'EUR', timeZone: 'Europe/Berlin', billCycleDay: 1 },
        plan: s % 5 === 4 ? without : withAllowances,
        products,
        tariffs,
      },
      cache,
    );
    if (!result.ok) throw new Error(JSON.stringify(result.problems));
    plans.push(result.plan);
  }
  const random = rng(42);
  const int = (n: number): number => Math.floor(random() * n);
  const prefixes = (benchTariff().prefixTables[0] as TariffDefinition['prefixTables'][number]).entries.map(
    (e) => e.prefix,
  );
  const march = Date.UTC(2026, 2, 1) - 3_600_000; // local midnight in Berlin (UTC+1)
  const events: UsageInput[] = [];
  const planOf = new Int32Array(distinct);
  for (let i = 0; i < distinct; i++) {
    planOf[i] = int(subscribers);
    const startMs =
      int(20) === 0 ? march + 31 * 86_400_000 + int(3 * 86_400_000) : march + int(31 * 86_400_000);
    const kind = random();
    const roamingNetwork = int(33) === 0 ? (int(2) === 0 ? '20801' : '21401') : undefined;
    if (kind < 0.6) {
      let number = prefixes[int(prefixes.length)] as string;
      while (number.length < 11 + int(3)) number += String(int(10));
      // A reader's numbers are flat strings; a string built digit by digit is a deep rope.
      number = flat(number);
      const duration = int(10) === 0 ? int(1200) : int(180);
      events.push(usage('voice', startMs, duration, 0, 0, 0, number, roamingNetwork, undefined));
    } else if (kind < 0.85) {
      const bytes = int(8_000_000);
      const up = Math.floor(bytes / 10);
      events.push(usage('data', startMs, int(600), up, bytes - up, 0, undefined, roamingNetwork, undefined));
    } else {
      events.push(usage('sms', startMs, 0, 0, 0, 1, '4915112345678', roamingNetwork, 'sms'));
    }
  }
  return { plans, events, planOf };
}

/** A flat copy of a string (no rope, no slice of a larger string). */
function flat(text: string): string {
  return Buffer.from(text, 'latin1').toString('latin1');
}

/**
 * One usage record, every field always present in the same order: records from one reader share
 * one object shape, as a mediation reader's records do (mixed shapes would measure V8's
 * megamorphic property lookups, not rating).
 */
function usage(
  service: UsageInput['service'],
  startMs: number,
  durationSec: number,
  volumeUpBytes: number,
  volumeDownBytes: number,
  count: number,
  calledNumber: string | undefined,
  visitedMccMnc: string | undefined,
  eventType: string | undefined,
): UsageInput {
  return {
    service,
    identityType: 'msisdn',
    identity: '491510000000',
    startMs,
    durationSec,
    volumeUpBytes,
    volumeDownBytes,
    count,
    callingNumber: undefined,
    calledNumber,
    apn: undefined,
    ratingGroup: undefined,
    cellId: undefined,
    visitedMccMnc,
    roaming: visitedMccMnc !== undefined,
    eventType,
    price: undefined,
  } as UsageInput;
}

/** Rates `count` events from a fresh ledger; returns [seconds, covered, bigint, rejects, checksum, cpu seconds]. */
function runOnce(prepared: Prepared, count: number): [number, number, number, number, bigint, number] {
  const { plans, events, planOf } = prepared;
  const ledger = new AllowanceLedger();
  const out = new RatingResult();
  const mask = events.length - 1;
  let covered = 0;
  let big = 0;
  let rejects = 0;
  let checksum = 0;
  let checksumBig = 0n;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const e = i & mask;
    rateUsage(plans[planOf[e] as number] as RatingPlan, events[e] as UsageInput, ledger, out);
    applyRating(ledger, out);
    if (out.outcome !== 'ok') rejects++;
    if (out.drawCount > 0) covered++;
    if (out.amountIsBig) big++;
    else checksum += out.amountPico;
    if (checksum > 1e15) {
      checksumBig += BigInt(checksum);
      checksum = 0;
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return [seconds, covered, big, rejects, checksumBig + BigInt(checksum), cpuSeconds];
}

/** Measures pure rating (rateUsage + applyRating on the in-memory ledger); see the module comment. */
export function measurePureRating(options: PureRatingOptions = {}): PureRatingMeasurement {
  const events = options.events ?? 10_000_000;
  const runs = options.runs ?? 5;
  const subscribers = options.subscribers ?? 10_000;
  let distinct = 1;
  while (distinct < (options.distinctEvents ?? 1 << 20)) distinct *= 2;
  const prepared = prepare(subscribers, distinct);
  runOnce(prepared, Math.min(events, 2_000_000)); // warm-up
  const rates: number[] = [];
  let last: [number, number, number, number, bigint, number] = [0, 0, 0, 0, 0n, 0];
  const perCpu: number[] = [];
  for (let r = 0; r < runs; r++) {
    last = runOnce(prepared, events);
    const perSec = events / last[0];
    rates.push(perSec);
    perCpu.push(events / last[5]);
    options.log?.(
      `run ${r + 1}: ${events} events in ${last[0].toFixed(3)} s = ${Math.round(perSec).toLocaleString('en')} events/s, ` +
        `${Math.round(events / last[5]).toLocaleString('en')} events per CPU-second`,
    );
  }
  const sorted = [...rates].sort((a, b) => a - b);
  return {
    perSec: Math.round(sorted[Math.floor(sorted.length / 2)] as number),
    perCpuSec: Math.round([...perCpu].sort((a, b) => a - b)[Math.floor(perCpu.length / 2)] as number),
    runs: rates.map(Math.round),
    events,
    subscribers,
    coveredShare: last[1] / events,
    bigintShare: last[2] / events,
    rejects: last[3],
    checksumPico: last[4],
  };
}

function main(): void {
  const events = Number(process.env.BENCH_EVENTS ?? 10_000_000);
  const runs = Number(process.env.BENCH_RUNS ?? 5);
  const subscribers = Number(process.env.BENCH_SUBSCRIBERS ?? 10_000);
  console.log(
    `pure rating: ${events} events per run, ${runs} runs, ${subscribers} subscriptions (60% voice, 25% data, 15% SMS)`,
  );
  const result = measurePureRating({ events, runs, subscribers, log: (line) => console.log(line) });
  console.log(
    `median ${result.perSec.toLocaleString('en')} events/s on one core, ${result.perCpuSec.toLocaleString('en')} events per CPU-second`,
  );
  console.log(
    `last run: ${(result.coveredShare * 100).toFixed(1)}% of events drew from an allowance, ` +
      `${(result.bigintShare * 100).toFixed(3)}% priced by the bigint path, ${result.rejects} rejects, ` +
      `checksum ${result.checksumPico} pico`,
  );
  console.log(
    JSON.stringify({
      bench: 'rating-pure',
      pure_rating_per_sec: result.perSec,
      cores: availableParallelism(),
    }),
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
