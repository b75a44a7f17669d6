/**
 * Tariff core benchmark: `npm run bench:tariff`.
 *
 * Builds a realistic large voice tariff and measures, on one core (this process, one thread):
 *
 *   compile   compileTariff (validation included) of a tariff with 200 000 prefixes in about 300
 *             zones, three time bands with per-band prices and a holiday calendar; median of 5 runs
 *   lookups   lookup and charge together on random numbers, the way the batch entry points do it:
 *             routeCallBatch matches the called numbers of 256 calls, then chargeBatchedCallInto
 *             charges each call (input checks, band lookup in Europe/Berlin, increments, the
 *             exact amount in safe-integer numbers when provably exact, else bigint, connect fee,
 *             minimum/maximum), written into one reused scratch object and read back; median of
 *             5 runs of 10 000 000 calls each, after a warm-up, by the wall clock. Nothing is
 *             cached between calls but what the tariff itself caches for any caller (UTC offsets
 *             and bands per hour). Routing a batch first lets the processor overlap the trie's
 *             cache misses of many numbers (see RoutedCallBatch in charge.ts); the charges are
 *             exactly chargeCallInto's (checked below on every prepared call).
 *
 * and, for information: the same by CPU time (the machine may be shared), chargeCallInto call by
 * call (route and price each call in turn), both on numbers that walk deep into the trie, chargeCall (a new object of strings and bigints per
 * call), the trie lookup alone, chargeCallInto with bandCrossing 'split', and the rate-deck parse
 * of the same 200k prefixes as CSV. Before timing, the number path is checked against the bigint
 * path on every prepared call.
 *
 * The prefixes: about 190 country codes (real 1-, 2- and 3-digit ones); half the countries have a
 * fixed and a mobile zone, half one zone (about 300 zones); each country code is a prefix of its
 * own, and the rest are operator blocks of random digits under them, 3 to 10 digits in all. The
 * calls: 2^18 prepared call records, cycled. 'Random numbers' are a country code followed by
 * random digits, 11 to 13 in all (random subscribers, as traffic to a country looks to a tariff).
 * 'Deep walks' extend a random prefix of the table instead, so every lookup walks down to one of
 * the 200k prefixes, most of them 7 to 10 digits deep: the worst case for the trie's memory
 * reads. Start times are random in 2026 and durations mostly under 4 minutes, some up to 2 hours.
 * Random data comes from a seeded generator, so every run measures the same tariff and calls.
 *
 * Settings (environment): BENCH_CALLS (10000000), BENCH_RUNS (5).
 *
 * The last line of the output is one JSON object:
 *   {"bench":"tariff","compile_200k_prefixes_sec":S,"lookups_per_sec":N,"cores":N}
 */
import { availableParallelism, cpus, loadavg } from 'node:os';
import {
  callAmountPico,
  chargeBatchedCallInto,
  newRoutedCallBatch,
  routeCallBatch,
  chargeCall,
  chargeCallInto,
  chargeCallIntoBigInt,
  compileTariff,
  newCallChargeScratch,
  longestPrefix,
  parseRateDeck,
  type CallChargeScratch,
  type CallUsage,
  type CompiledTariff,
  type PrefixMatch,
  type TariffDefinition,
  type ZoneRate,
} from '../src/catalog/tariff/index.js';
import { median, rng } from './common.js';

const PREFIX_COUNT = 200_000;
const CALLS = Number(process.env.BENCH_CALLS ?? 10_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const DISTINCT_CALLS = 1 << 18;
/** Calls routed at a time by the batch entry points (DISTINCT_CALLS is a multiple). */
const BATCH = 256;

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
    // About 300 zones in all: half the countries have a fixed and a mobile zone, half one zone.
    const kinds = int(2) === 0 ? ['fixed', 'mobile'] : ['all'];
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

/** Wall-clock and CPU seconds of one timed run. */
interface Timing {
  readonly wallSec: number;
  readonly cpuSec: number;
}

/**
 * Times `work`. CPU time (process.cpuUsage, user + system, all threads) is reported next to the
 * wall clock because the machine may be shared: CPU time leaves out the time other processes had
 * the core, though not what they do to its caches. It includes V8's helper threads (garbage
 * collection), which makes it a little pessimistic, never optimistic.
 */
function timed(work: () => void): Timing {
  const cpu = process.cpuUsage();
  const start = performance.now();
  work();
  const wallSec = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  return { wallSec, cpuSec: (used.user + used.system) / 1e6 };
}

/**
 * Charges `count` calls over the prepared ones with chargeCallInto, the allocation-free entry
 * point a batch rating engine uses: one reused scratch, the full work per call (lookup, band,
 * increments, exact amount, connect fee, limits), nothing cached between calls.
 */
function chargeLoop(tariff: CompiledTariff, calls: readonly CallUsage[], count: number): void {
  const mask = calls.length - 1;
  const out = newCallChargeScratch();
  const tally = new Tally();
  for (let i = 0; i < count; i++) {
    const call = calls[i & mask] as CallUsage;
    chargeCallInto(tariff, call.calledNumber, call.startMs, call.durationSec, 0, undefined, out);
    tally.add(out);
  }
  tally.check();
}

/**
 * Reads every charge's results, so no part of the work can be skipped, and checks them: no
 * negative amount, seconds and zones seen, and every amount in numbers (the tariff's amounts are
 * small, so a bigint charge would mean the fast path was missed).
 */
class Tally {
  private negative = 0;
  private seconds = 0;
  private bigAmounts = 0;
  private sink = 0;

  add(out: CallChargeScratch): void {
    this.seconds += out.chargedSec;
    this.sink += out.destinationZone + out.band;
    if (out.amountsAreBig) {
      this.bigAmounts++;
      if (out.amountPicoBig < 0n) this.negative++;
    } else if (!(out.amountPico >= 0)) this.negative++;
  }

  check(): void {
    if (this.negative !== 0 || this.seconds <= 0 || this.sink < 0) throw new Error('impossible charge');
    if (this.bigAmounts !== 0)
      throw new Error(`${this.bigAmounts} charges needed bigint: the tariff's amounts are small`);
  }
}

/**
 * Charges `count` calls over the prepared ones in batches of BATCH: routeCallBatch matches the
 * batch's numbers, then chargeBatchedCallInto charges each call into one reused scratch.
 */
function batchLoop(tariff: CompiledTariff, calls: readonly CallUsage[], count: number): void {
  const routed = newRoutedCallBatch(BATCH);
  const out = newCallChargeScratch();
  const tally = new Tally();
  for (let done = 0; done < count; done += BATCH) {
    const from = done % calls.length;
    const n = Math.min(BATCH, count - done, calls.length - from);
    routeCallBatch(tariff, calls, from, n, routed);
    for (let k = 0; k < n; k++) {
      chargeBatchedCallInto(tariff, routed, k, calls[from + k] as CallUsage, 0, undefined, out);
      tally.add(out);
    }
  }
  tally.check();
}

/** chargeCall, the allocating entry point (strings and bigints in a new object per call). */
function chargeObjectLoop(tariff: CompiledTariff, calls: readonly CallUsage[], count: number): void {
  const mask = calls.length - 1;
  let negative = 0;
  let seconds = 0;
  for (let i = 0; i < count; i++) {
    const charge = chargeCall(tariff, calls[i & mask] as CallUsage);
    seconds += charge.chargedSec;
    if (charge.amountPico < 0n) negative++;
  }
  if (negative !== 0 || seconds <= 0) throw new Error('impossible charge');
}

/**
 * Checks, before anything is timed, that the number path gives exactly the bigint path's charge
 * for every prepared call: same zone, band, seconds, limit and amounts to the pico-unit.
 */
function checkAgainstBigInt(tariff: CompiledTariff, calls: readonly CallUsage[]): void {
  const fast = newCallChargeScratch();
  const exact = newCallChargeScratch();
  for (const call of calls) {
    chargeCallInto(tariff, call.calledNumber, call.startMs, call.durationSec, 0, undefined, fast);
    chargeCallIntoBigInt(tariff, call.calledNumber, call.startMs, call.durationSec, 0, undefined, exact);
    const same =
      fast.destinationZone === exact.destinationZone &&
      fast.band === exact.band &&
      fast.chargedSec === exact.chargedSec &&
      fast.limit === exact.limit &&
      fast.partCount === exact.partCount &&
      callAmountPico(fast) === exact.amountPicoBig &&
      BigInt(fast.usagePico) === exact.usagePicoBig &&
      BigInt(fast.connectFeePico) === exact.connectFeePicoBig &&
      fast.partAmountPico
        .slice(0, fast.partCount)
        .every((amount, k) => BigInt(amount) === exact.partAmountPicoBig[k]);
    if (!same) throw new Error(`number and bigint charges differ for ${JSON.stringify(call)}`);
  }
}

/** Checks, before anything is timed, that the batch path charges every prepared call as chargeCallInto does. */
function checkBatchAgainstSingle(tariff: CompiledTariff, calls: readonly CallUsage[]): void {
  const routed = newRoutedCallBatch(BATCH);
  const batched = newCallChargeScratch();
  const single = newCallChargeScratch();
  for (let from = 0; from < calls.length; from += BATCH) {
    const n = Math.min(BATCH, calls.length - from);
    routeCallBatch(tariff, calls, from, n, routed);
    for (let k = 0; k < n; k++) {
      const call = calls[from + k] as CallUsage;
      chargeBatchedCallInto(tariff, routed, k, call, 0, undefined, batched);
      chargeCallInto(tariff, call.calledNumber, call.startMs, call.durationSec, 0, undefined, single);
      const same =
        batched.destinationZone === single.destinationZone &&
        batched.matchedLength === single.matchedLength &&
        batched.band === single.band &&
        batched.chargedSec === single.chargedSec &&
        batched.limit === single.limit &&
        callAmountPico(batched) === callAmountPico(single);
      if (!same) throw new Error(`batched and single charges differ for ${JSON.stringify(call)}`);
    }
  }
}

function lookupLoop(tariff: CompiledTariff, calls: readonly CallUsage[], count: number): void {
  const trie = (tariff.voice as NonNullable<CompiledTariff['voice']>).trie;
  const mask = calls.length - 1;
  const out: PrefixMatch = { zone: -1, length: 0 };
  let misses = 0;
  for (let i = 0; i < count; i++) {
    if (longestPrefix(trie, (calls[i & mask] as CallUsage).calledNumber, out).zone < 0) misses++;
  }
  if (misses !== 0) throw new Error('a generated number did not route');
}

/** Medians of operations per second over RUNS runs, by wall clock and by CPU time. */
function rates(count: number, run: () => void): { wall: number; cpu: number; runs: string } {
  const timings: Timing[] = [];
  for (let i = 0; i < RUNS; i++) timings.push(timed(run));
  return {
    wall: median(timings.map((t) => count / t.wallSec)),
    cpu: median(timings.map((t) => count / t.cpuSec)),
    runs: timings.map((t) => fmt(count / t.wallSec)).join(', '),
  };
}

function main(): void {
  console.log(
    `tariff bench: node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, one thread; ` +
      `load average ${loadavg()[0]?.toFixed(2)} on ${availableParallelism()} cores`,
  );
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
    compileTimes.push(
      timed(() => {
        tariff = compileTariff(definition);
      }).wallSec,
    );
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
    deckTimes.push(
      timed(() => {
        const result = parseRateDeck(csv);
        if (result.errors.length > 0 || result.fragment?.prefixTable.entries.length !== entries.length) {
          throw new Error(`rate deck: ${result.errors.length} errors`);
        }
      }).wallSec,
    );
  }
  console.log(
    `rate deck parse of the same ${entries.length} rows (${(csv.length / 1e6).toFixed(1)} MB CSV): ` +
      `median ${median(deckTimes).toFixed(3)} s`,
  );

  const calls = makeCalls(definition, 'random');
  const deepCalls = makeCalls(definition, 'deep');
  const split = compileTariff({ ...definition, voice: { ...voice, bandCrossing: 'split' } });
  const checkStart = performance.now();
  checkAgainstBigInt(compiled, calls);
  checkAgainstBigInt(compiled, deepCalls);
  checkAgainstBigInt(split, calls);
  checkBatchAgainstSingle(compiled, calls);
  checkBatchAgainstSingle(compiled, deepCalls);
  console.log(
    `checked: number and bigint charges equal on all ${3 * DISTINCT_CALLS} prepared calls ` +
      `(start and split), batched and single charges equal on ${2 * DISTINCT_CALLS} ` +
      `(${((performance.now() - checkStart) / 1000).toFixed(2)} s)`,
  );
  // Warm-up: let the optimiser settle and fill the offset cache (one Intl call per hour of 2026).
  batchLoop(compiled, calls, 5_000_000);
  chargeLoop(compiled, calls, 5_000_000);
  chargeLoop(compiled, deepCalls, 2_000_000);
  const charges = rates(CALLS, () => batchLoop(compiled, calls, CALLS));
  console.log(
    `lookup + charge in batches of ${BATCH} (routeCallBatch, chargeBatchedCallInto), random numbers: ` +
      `median ${fmt(charges.wall)}/s [${charges.runs}], ${fmt(charges.cpu)} per CPU-second ` +
      `(${RUNS} runs of ${fmt(CALLS)})`,
  );
  const single = rates(CALLS, () => chargeLoop(compiled, calls, CALLS));
  console.log(
    `chargeCallInto call by call, random numbers: median ${fmt(single.wall)}/s [${single.runs}], ` +
      `${fmt(single.cpu)} per CPU-second`,
  );
  const deepBatch = rates(CALLS, () => batchLoop(compiled, deepCalls, CALLS));
  const deep = rates(CALLS, () => chargeLoop(compiled, deepCalls, CALLS));
  console.log(
    `numbers under random table prefixes (deep walks): in batches median ${fmt(deepBatch.wall)}/s, ` +
      `call by call ${fmt(deep.wall)}/s (${fmt(deepBatch.cpu)} and ${fmt(deep.cpu)} per CPU-second)`,
  );
  const objectCalls = Math.min(CALLS, 2_000_000);
  chargeObjectLoop(compiled, calls, objectCalls);
  const objects = rates(objectCalls, () => chargeObjectLoop(compiled, calls, objectCalls));
  console.log(
    `chargeCall (a new result object of strings and bigints per call), random numbers: ` +
      `median ${fmt(objects.wall)}/s, ${fmt(objects.cpu)} per CPU-second`,
  );

  lookupLoop(compiled, calls, 2_000_000);
  const lookups = rates(CALLS, () => lookupLoop(compiled, calls, CALLS));
  const deepLookups = rates(CALLS, () => lookupLoop(compiled, deepCalls, CALLS));
  console.log(
    `longestPrefix alone: random numbers median ${fmt(lookups.wall)}/s (${fmt(lookups.cpu)} per CPU-second), ` +
      `deep walks ${fmt(deepLookups.wall)}/s (${fmt(deepLookups.cpu)} per CPU-second)`,
  );

  const splitCalls = Math.min(CALLS, 2_000_000);
  chargeLoop(split, calls, splitCalls);
  const splitRates = rates(splitCalls, () => chargeLoop(split, calls, splitCalls));
  console.log(
    `chargeCallInto with bandCrossing 'split', random numbers: median ${fmt(splitRates.wall)}/s, ` +
      `${fmt(splitRates.cpu)} per CPU-second`,
  );

  const lookupsPerSec = charges.wall;
  const targetCompile = compileSec <= 1 ? 'met' : 'MISSED';
  const targetLookups = lookupsPerSec >= 8_000_000 ? 'met' : 'MISSED';
  console.log(
    `targets: compile ≤ 1 s ${targetCompile}; ≥ 8M lookups+charges/s ${targetLookups} ` +
      `(lookups_per_sec below is lookup + charge in batches on random numbers, wall clock; load average now ` +
      `${loadavg()[0]?.toFixed(2)})`,
  );
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
