/**
 * Tariff core benchmark: `npm run bench:tariff`.
 *
 * Builds a realistic large voice tariff and measures, on one core (this process, one thread):
 *
 *   compile   compileTariff (validation included) of a tariff with 200 000 prefixes in about 300
 *             zones, three time bands with per-band prices and a holiday calendar; median of 5 runs
 *   lookup    chargeCall on random numbers (longest-prefix match, band lookup in Europe/Berlin,
 *             increments, bigint amount, connect fee, minimum/maximum): median of 5 runs of
 *             10 000 000 calls each, after a warm-up; reported as calls per second
 *
 * and, for information: the rate-deck parse of the same 200k prefixes as CSV, the trie lookup
 * alone, and chargeCall with bandCrossing 'split'.
 *
 * The prefixes: about 150 country codes (real 1-, 2- and 3-digit ones), each with a fixed and a
 * mobile zone (and a premium zone for a third of them), and operator blocks of 1 to 7 more
 * digits, for prefixes of 3 to 10 digits. The called numbers: a random prefix of the table
 * extended with random digits to 11 to 13 digits, so every number routes but usually to a
 * longer or shorter prefix than the one it was made from. Random data comes from a seeded
 * generator, so every run measures the same tariff and calls.
 *
 * Settings (environment): BENCH_CALLS (10000000), BENCH_RUNS (5).
 *
 * The last line of the output is one JSON object:
 *   {"bench":"tariff","compile_200k_prefixes_sec":S,"lookups_per_sec":N,"cores":N}
 */
import { availableParallelism, cpus } from 'node:os';
import {
  chargeCall,
  compileTariff,
  longestPrefix,
  parseRateDeck,
  type CallUsage,
  type CompiledTariff,
  type PrefixMatch,
  type TariffDefinition,
  type ZoneRate,
} from '../src/catalog/tariff/index.js';

const PREFIX_COUNT = 200_000;
const CALLS = Number(process.env.BENCH_CALLS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const DISTINCT_CALLS = 1 << 18;

/** mulberry32: a small seeded generator; benchmarks must be repeatable, not unpredictable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(20260101);
const int = (n: number): number => Math.floor(random() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;

// Country codes: the 1- and 2-digit ones in use and a spread of 3-digit ones.
// prettier-ignore
const COUNTRY_CODES = [
  '1', '7', '20', '27', '30', '31', '32', '33', '34', '36', '39', '40', '41', '43', '44', '45', '46', '47', '48',
  '49', '51', '52', '53', '54', '55', '56', '57', '58', '60', '61', '62', '63', '64', '65', '66', '81', '82', '84',
  '86', '90', '91', '92', '93', '94', '95', '98', '211', '212', '213', '216', '218', '220', '221', '222', '223',
  '224', '225', '226', '227', '228', '229', '230', '231', '232', '233', '234', '235', '236', '237', '238', '239',
  '240', '241', '242', '243', '244', '245', '246', '248', '249', '250', '251', '252', '253', '254', '255', '256',
  '257', '258', '260', '261', '262', '263', '264', '265', '266', '267', '268', '269', '290', '291', '297', '298',
  '299', '350', '351', '352', '353', '354', '355', '356', '357', '358', '359', '370', '371', '372', '373', '374',
  '375', '376', '377', '378', '380', '381', '382', '383', '385', '386', '387', '389', '420', '421', '423', '500',
  '501', '502', '503', '504', '505', '506', '507', '508', '509', '590', '591', '592', '593', '594', '595', '596',
  '597', '598', '599', '670', '672', '673', '674', '675', '676', '677', '678', '679', '680', '852', '853', '855',
  '856', '880', '886', '960', '961', '962', '963', '964', '965', '966', '967', '968', '970', '971', '972', '973',
  '974', '975', '976', '977', '992', '993', '994', '995', '996', '998',
];
const INCREMENTS = [
  { firstSec: 60, nextSec: 60 },
  { firstSec: 30, nextSec: 6 },
  { firstSec: 1, nextSec: 1 },
  { firstSec: 60, nextSec: 1 },
];

/** A decimal price with 4 decimals between 0.0010 and 0.4999, as text. */
function price(): string {
  const tenThousandths = 10 + int(4990);
  return `0.${String(tenThousandths).padStart(4, '0')}`;
}

interface Generated {
  definition: TariffDefinition;
  csv: string;
}

function generate(): Generated {
  const zones: Array<{ id: string; description: string }> = [];
  const rates: ZoneRate[] = [];
  const entries: Array<{ prefix: string; zone: string }> = [];
  const seen = new Set<string>();
  const zoneRate = new Map<string, ZoneRate>();
  const countryZones: string[][] = [];
  for (const cc of COUNTRY_CODES) {
    const kinds = int(3) === 0 ? ['fixed', 'mobile', 'premium'] : ['fixed', 'mobile'];
    const ids = kinds.map((kind) => `${cc}-${kind}`);
    countryZones.push(ids);
    for (const id of ids) {
      zones.push({ id, description: `+${id}` });
      const unitPrice = price();
      const rate: ZoneRate = {
        zone: id,
        currency: 'EUR',
        connectFee: int(4) === 0 ? '0.01' : '0',
        unitSeconds: 60,
        unitPrice,
        increments: pick(INCREMENTS),
        ...(int(5) === 0 ? { minimumCharge: '0.02' } : {}),
        ...(int(5) === 0 ? { maximumCharge: '25' } : {}),
        bandPrices: [
          { band: 'off-peak', unitPrice: price() },
          { band: 'weekend', unitPrice: price() },
        ],
      };
      rates.push(rate);
      zoneRate.set(id, rate);
    }
    // The bare country code routes to the fixed zone, so every number of the country routes.
    seen.add(cc);
    entries.push({ prefix: cc, zone: ids[0] as string });
  }
  while (entries.length < PREFIX_COUNT) {
    const c = int(COUNTRY_CODES.length);
    const cc = COUNTRY_CODES[c] as string;
    const ids = countryZones[c] as string[];
    const length = 3 + int(8); // 3 to 10 digits in all
    if (length <= cc.length) continue;
    let prefix = cc;
    while (prefix.length < length) prefix += String(int(10));
    if (seen.has(prefix)) continue;
    seen.add(prefix);
    entries.push({ prefix, zone: pick(ids) });
  }
  const definition: TariffDefinition = {
    id: 'bench',
    name: 'Benchmark tariff',
    timeZone: 'Europe/Berlin',
    currencies: ['EUR'],
    zones,
    prefixTables: [{ id: 'world', name: 'World destinations', entries }],
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
      holidayBand: 'weekend',
      holidayCalendar: {
        name: 'DE',
        dates: [
          '2026-01-01',
          '2026-04-03',
          '2026-04-06',
          '2026-05-01',
          '2026-05-14',
          '2026-05-25',
          '2026-10-03',
          '2026-12-25',
          '2026-12-26',
        ],
      },
    },
  };
  const lines = ['prefix,description,rate,connect_fee,increments,currency,effective_date'];
  for (const entry of entries) {
    const rate = zoneRate.get(entry.zone) as ZoneRate;
    lines.push(
      `${entry.prefix},"${entry.zone}",${rate.unitPrice},${rate.connectFee},` +
        `${rate.increments.firstSec}/${rate.increments.nextSec},EUR,2026-01-01`,
    );
  }
  return { definition, csv: `${lines.join('\n')}\n` };
}

/**
 * The calls: 'random' numbers are a country code of the table followed by random digits (random
 * subscribers, as traffic to a country looks to the tariff); 'deep' numbers extend a random
 * prefix of the table, so every lookup walks to one of the 200k prefixes, most of them 7 to 10
 * digits deep: the worst case for the trie's memory reads.
 */
function makeCalls(definition: TariffDefinition, kind: 'random' | 'deep'): CallUsage[] {
  const entries = (definition.prefixTables[0] as TariffDefinition['prefixTables'][number]).entries;
  const yearStart = Date.UTC(2026, 0, 1);
  const calls: CallUsage[] = [];
  for (let i = 0; i < DISTINCT_CALLS; i++) {
    let number = kind === 'random' ? pick(COUNTRY_CODES) : pick(entries).prefix;
    const length = 11 + int(3);
    while (number.length < length) number += String(int(10));
    // Durations: mostly short, some long (about 2 minutes on average, up to 2 hours).
    const durationSec = int(10) === 0 ? int(7200) : int(240);
    // Built digit by digit, `number` is a rope of small strings; a number read from a CDR is one
    // flat string, so flatten it (reading a rope char by char costs several times more).
    const calledNumber = number.split('').join('');
    calls.push({ calledNumber, startMs: yearStart + int(365 * 86_400) * 1000, durationSec });
  }
  return calls;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Runs chargeCall `count` times over the prepared calls; returns seconds taken. */
function timeCharges(tariff: CompiledTariff, calls: readonly CallUsage[], count: number): number {
  const mask = calls.length - 1;
  let negative = 0;
  let seconds = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const charge = chargeCall(tariff, calls[i & mask] as CallUsage);
    // Read the results so no part of the work can be skipped.
    seconds += charge.chargedSec;
    if (charge.amountPico < 0n) negative++;
  }
  const elapsed = (performance.now() - start) / 1000;
  if (negative !== 0 || seconds <= 0) throw new Error('impossible charge');
  return elapsed;
}

function timeLookups(tariff: CompiledTariff, calls: readonly CallUsage[], count: number): number {
  const trie = (tariff.voice as NonNullable<CompiledTariff['voice']>).trie;
  const mask = calls.length - 1;
  const out: PrefixMatch = { zone: -1, length: 0 };
  let misses = 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    if (longestPrefix(trie, (calls[i & mask] as CallUsage).calledNumber, out).zone < 0) misses++;
  }
  const elapsed = (performance.now() - start) / 1000;
  if (misses !== 0) throw new Error('a generated number did not route');
  return elapsed;
}

function main(): void {
  console.log(`tariff bench: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, one thread`);
  const t0 = performance.now();
  const { definition, csv } = generate();
  const voice = definition.voice as NonNullable<TariffDefinition['voice']>;
  const entries = (definition.prefixTables[0] as TariffDefinition['prefixTables'][number]).entries;
  console.log(
    `generated ${entries.length} prefixes in ${definition.zones.length} zones, ${voice.rates.length} rates ` +
      `(${((performance.now() - t0) / 1000).toFixed(2)} s)`,
  );

  const compileTimes: number[] = [];
  let tariff: CompiledTariff | undefined;
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    tariff = compileTariff(definition);
    compileTimes.push((performance.now() - start) / 1000);
  }
  const compiled = tariff as CompiledTariff;
  const compileSec = median(compileTimes);
  const voiceCompiled = compiled.voice as NonNullable<CompiledTariff['voice']>;
  console.log(
    `compile (validation included): median ${compileSec.toFixed(3)} s of ${RUNS} ` +
      `[${compileTimes.map((t) => t.toFixed(3)).join(', ')}]; trie ${voiceCompiled.trie.nodeCount} nodes, ` +
      `${((voiceCompiled.trie.nodes.byteLength + voiceCompiled.trie.jump.byteLength) / 1e6).toFixed(1)} MB`,
  );

  const deckTimes: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = performance.now();
    const result = parseRateDeck(csv);
    deckTimes.push((performance.now() - start) / 1000);
    if (result.errors.length > 0 || result.fragment?.prefixTable.entries.length !== entries.length) {
      throw new Error(`rate deck: ${result.errors.length} errors`);
    }
  }
  console.log(
    `rate deck parse of the same ${entries.length} rows (${(csv.length / 1e6).toFixed(1)} MB CSV): ` +
      `median ${median(deckTimes).toFixed(3)} s`,
  );

  const calls = makeCalls(definition, 'random');
  const deepCalls = makeCalls(definition, 'deep');
  timeCharges(compiled, calls, 2_000_000); // warm-up: let the optimiser settle, fill the offset cache
  const chargeRates: number[] = [];
  for (let run = 0; run < RUNS; run++) chargeRates.push(CALLS / timeCharges(compiled, calls, CALLS));
  const lookupsPerSec = median(chargeRates);
  console.log(
    `chargeCall (lookup + band + charge), random numbers, bandCrossing 'start': median ` +
      `${fmt(lookupsPerSec)}/s of ${RUNS} runs of ${fmt(CALLS)} [${chargeRates.map(fmt).join(', ')}]`,
  );
  const deepRates: number[] = [];
  for (let run = 0; run < RUNS; run++) deepRates.push(CALLS / timeCharges(compiled, deepCalls, CALLS));
  console.log(
    `chargeCall, numbers under random table prefixes (deep walks): median ${fmt(median(deepRates))}/s ` +
      `[${deepRates.map(fmt).join(', ')}]`,
  );

  const lookupRates: number[] = [];
  const deepLookupRates: number[] = [];
  timeLookups(compiled, calls, 2_000_000);
  for (let run = 0; run < RUNS; run++) {
    lookupRates.push(CALLS / timeLookups(compiled, calls, CALLS));
    deepLookupRates.push(CALLS / timeLookups(compiled, deepCalls, CALLS));
  }
  console.log(
    `longestPrefix alone: random numbers median ${fmt(median(lookupRates))}/s, ` +
      `deep walks median ${fmt(median(deepLookupRates))}/s`,
  );

  const split = compileTariff({ ...definition, voice: { ...voice, bandCrossing: 'split' } });
  const splitCalls = Math.min(CALLS, 2_000_000);
  timeCharges(split, calls, splitCalls);
  const splitRates: number[] = [];
  for (let run = 0; run < RUNS; run++) splitRates.push(splitCalls / timeCharges(split, calls, splitCalls));
  console.log(`chargeCall, random numbers, bandCrossing 'split': median ${fmt(median(splitRates))}/s`);

  const targetCompile = compileSec <= 1 ? 'met' : 'MISSED';
  const targetLookups = lookupsPerSec >= 8_000_000 ? 'met' : 'MISSED';
  console.log(`targets: compile ≤ 1 s ${targetCompile}; ≥ 8M lookups+charges/s ${targetLookups}`);
  console.log(
    JSON.stringify({
      bench: 'tariff',
      compile_200k_prefixes_sec: Number(compileSec.toFixed(3)),
      lookups_per_sec: Math.round(lookupsPerSec),
      cores: availableParallelism(),
    }),
  );
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : `${Math.round(n)}`;
}

main();
