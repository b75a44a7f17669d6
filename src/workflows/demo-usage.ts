/**
 * The demo's day of traffic: what the demo subscribers did yesterday, as their network wrote it,
 * imported the way an operator imports usage. `npm start` on an empty database calls
 * `seedDemoUsage` after the catalog and customers are in: it defines the usage sources of
 * examples/usage/sources.yaml, writes one file per source for the day before "now" (in the
 * operator's zone, Europe/Berlin) and imports each through `importUsageFile`, so a newcomer finds
 * rated usage, a few rejects to correct and balanced controls.
 *
 * The traffic is generated, deterministically: a small seeded PRNG (seeded with the day) and the
 * injected clock, never Math.random or the wall clock, so the same day always gives the same files
 * (and an interrupted seed, run again, resumes the same imports instead of importing twice).
 *
 * What a day holds, per subscriber of the customers file (a few thousand records in all):
 * - mobile lines (`mobile-core`, CSV from the MSC and the packet gateway): calls with durations
 *   drawn from a long-tailed distribution (most calls a minute or two, a few of half an hour),
 *   timed by an hourly profile (business hours for the enterprise lines, evenings for consumers,
 *   quiet nights; weekends lighter for business), mostly national (mobile and fixed, some to other
 *   demo subscribers), about one in eight international; SMS; data sessions of a few MB each.
 *   One line with the EU roaming pack spends the day in Spain and one enterprise line without it
 *   is in the USA: their calls, SMS and data carry the visited network and rate in roaming zones;
 * - the home phone of the broadband customer (`fixed-voip`, Asterisk Master.csv): a handful of
 *   calls, one of them unanswered;
 * - the smart meters of the IoT pool (`iot-platform`, JSON lines): a reading every 15 minutes
 *   (a few kB up, a few hundred bytes down) drawing on the pool's shared data allowance, and now
 *   and then an SMS alarm.
 * And a few deliberately bad records, so the rejects screen has something to show: a call from a
 * number nobody holds (`unknown_subscriber`), a line the mediation device cut short
 * (`malformed_record`), a CDR the MSC sent twice (a duplicate), a call to a dialplan extension
 * (`unparseable`), a truncated JSON line and a meter that is not in the pool.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CommonErrors, fail, isTollgateError } from '../kernel/errors.js';
import { instantOfLocal, zoneOffsetMs } from '../rating/index.js';
import { UsageErrors } from '../usage/index.js';
import type { Caller, WorkflowDeps } from './context.js';
import { importRecordsFromCsv } from './customers.js';
import { defineSource, getImport, importUsageFile, type ImportFileResult } from './usage.js';

/** The zone the demo operator lives in: its day is a Berlin day. */
export const DEMO_TIME_ZONE = 'Europe/Berlin';

const MS_PER_SECOND = 1000;
const MS_PER_MINUTE = 60_000;
const MS_PER_HOUR = 3_600_000;
const MS_PER_DAY = 86_400_000;

// ---------------------------------------------------------------------------------------------
// A seeded PRNG

/**
 * mulberry32: a 32-bit state, good enough statistics for test traffic, and the same sequence on
 * every platform (integer arithmetic only).
 */
export class DemoRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Seeded with the FNV-1a hash of a text (the day, so each day has its own traffic). */
  static of(text: string): DemoRandom {
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
    return new DemoRandom(hash);
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** A whole number in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.next() * list.length)] as T;
  }

  /** An index drawn with the given weights. */
  weighted(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i] as number;
      if (r < 0) return i;
    }
    return weights.length - 1;
  }

  /** An exponential draw with the given mean (inverse transform; 1 − u is in (0, 1]). */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** A count around `mean` (Poisson by inversion; means here are small). */
  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k++;
      p *= this.next();
    }
    return k;
  }
}

// ---------------------------------------------------------------------------------------------
// The demo day

/** The local day before `nowMs` in `timeZone`: its name and its bounds as UTC instants. */
export interface DemoDay {
  /** "YYYY-MM-DD", local. */
  readonly date: string;
  /** Days since 1970-01-01 of the local date. */
  readonly localDay: number;
  /** Monday 0 … Sunday 6. */
  readonly weekday: number;
  readonly startMs: number;
  /** The next local midnight: 23, 24 or 25 hours after the start. */
  readonly endMs: number;
}

export function demoDayBefore(nowMs: number, timeZone: string = DEMO_TIME_ZONE): DemoDay {
  const today = Math.floor((nowMs + zoneOffsetMs(timeZone, nowMs)) / MS_PER_DAY);
  const localDay = today - 1;
  return {
    date: new Date(localDay * MS_PER_DAY).toISOString().slice(0, 10),
    localDay,
    // 1970-01-01 was a Thursday (3 when Monday is 0).
    weekday: (((localDay + 3) % 7) + 7) % 7,
    startMs: instantOfLocal(timeZone, localDay * MS_PER_DAY),
    endMs: instantOfLocal(timeZone, today * MS_PER_DAY),
  };
}

/** One subscription of the customers file, as traffic generation needs it. */
export interface DemoSubscriber {
  readonly name: string;
  readonly offerCode: string;
  readonly addOns: readonly string[];
  readonly msisdn?: string;
  readonly sipUri?: string;
  readonly deviceId?: string;
}

/** The subscriptions of a customers import CSV (rows with an offer), with their identities. */
export function demoSubscribersFromCsv(text: string): DemoSubscriber[] {
  const out: DemoSubscriber[] = [];
  for (const record of importRecordsFromCsv(text)) {
    const v = record.values as Record<string, string | undefined>;
    const offerCode = v.offerCode?.trim() ?? '';
    if (offerCode === '') continue;
    const value = (name: string): string | undefined => {
      const text = v[name]?.trim() ?? '';
      return text === '' ? undefined : text;
    };
    const msisdn = value('msisdn');
    const sipUri = value('sipUri');
    const deviceId = value('deviceId');
    out.push({
      name: value('subscriptionName') ?? offerCode,
      offerCode,
      addOns: (value('addOns') ?? '')
        .split(/[;|]/)
        .map((s) => s.trim())
        .filter((s) => s !== ''),
      ...(msisdn === undefined ? {} : { msisdn }),
      ...(sipUri === undefined ? {} : { sipUri }),
      ...(deviceId === undefined ? {} : { deviceId }),
    });
  }
  return out;
}

/** A file of one source, as the network element would have written it. */
export interface DemoUsageFile {
  readonly source: string;
  readonly name: string;
  readonly text: string;
  /** Lines that are records (the header excluded). */
  readonly records: number;
}

export interface DemoTraffic {
  readonly day: DemoDay;
  readonly files: readonly DemoUsageFile[];
}

/** How a kind of line behaves in a day: mean counts and the hourly profile of its activity. */
interface Profile {
  readonly calls: number;
  readonly sms: number;
  readonly sessions: number;
  readonly hours: readonly number[];
}

// Relative activity per local hour 0..23.
const CONSUMER_HOURS = [1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 5, 5, 5, 6, 7, 6, 6, 6, 7, 9, 10, 10, 9, 7, 4, 2];
const BUSINESS_HOURS = [
  0.2, 0.1, 0.1, 0.1, 0.1, 0.3, 1, 4, 9, 10, 10, 9, 6, 8, 10, 10, 9, 7, 4, 2, 1, 1, 0.5, 0.3,
];
const HOME_HOURS = [0.2, 0.1, 0, 0, 0, 0, 0.2, 1, 2, 3, 3, 3, 3, 3, 3, 3, 4, 6, 8, 8, 6, 4, 2, 0.5];

function profileOf(subscriber: DemoSubscriber, weekend: boolean): Profile {
  switch (subscriber.offerCode) {
    // Data "sessions" are the gateway's records: a long session is cut into partial records (every
    // hour or few MB), so a smartphone writes a few dozen a day.
    case 'MOBILE-PREPAID':
      return { calls: 3, sms: 5, sessions: 12, hours: CONSUMER_HOURS };
    case 'FAMILY-SHARE':
      return { calls: 5, sms: 14, sessions: 28, hours: CONSUMER_HOURS };
    case 'ENTERPRISE-FLEX':
      return weekend
        ? { calls: 3, sms: 2, sessions: 10, hours: CONSUMER_HOURS }
        : { calls: 14, sms: 4, sessions: 24, hours: BUSINESS_HOURS };
    default:
      return { calls: 7, sms: 9, sessions: 24, hours: CONSUMER_HOURS };
  }
}

// Destinations, written as a German subscriber dials them (national prefix 0, international 00).
const NATIONAL_MOBILE = ['0151', '0152', '0160', '0162', '0170', '0171', '0172', '0176'];
const NATIONAL_FIXED = ['030', '040', '089', '069', '0221', '0711'];
// EU, the UK, North America; every demo tariff routes these.
const INTERNATIONAL = ['0033', '0034', '0039', '0043', '0031', '0044', '001'];
// Further away: the mobile tariffs route these too (the home phone's tariff does not).
const FAR_AWAY = ['0061', '0081', '0091'];

/** Where the roaming lines are: the visited network (MCC-MNC) and how its local numbers look. */
const ROAMING_EU = { mccMnc: '21401', country: '0034' }; // Spain
const ROAMING_WORLD = { mccMnc: '310260', country: '001' }; // the USA

interface Event {
  /** Local wall time as if UTC (what the CSV files say). */
  readonly wallMs: number;
  readonly line: string;
}

/**
 * Generates the demo day before `nowMs` for `subscribers` (from the customers file): the files of
 * the three sources of examples/usage/sources.yaml. Pure and deterministic.
 */
export function generateDemoTraffic(nowMs: number, subscribers: readonly DemoSubscriber[]): DemoTraffic {
  const day = demoDayBefore(nowMs);
  const random = DemoRandom.of(`tollgate-demo-${day.date}`);
  const weekend = day.weekday >= 5;
  const dayLengthMs = day.endMs - day.startMs;
  const compact = day.date.replaceAll('-', '');
  const mobiles = subscribers.filter((s) => s.msisdn !== undefined);
  const ownNumbers = mobiles.map((s) => nationalForm(s.msisdn as string));

  /** A local wall time in the day, at an hour drawn from the profile. */
  const wallAt = (hours: readonly number[]): number => {
    // On the spring-forward day a wall time in the skipped hour is read as the instant after the
    // gap, as the readers do for any local time that does not exist.
    const hour = random.weighted(hours);
    return day.localDay * MS_PER_DAY + hour * MS_PER_HOUR + random.int(0, 3599) * MS_PER_SECOND;
  };
  const localText = (wallMs: number): string => new Date(wallMs).toISOString().slice(0, 19).replace('T', ' ');
  const callSeconds = (): number => {
    // Most calls last a minute or two; one in twenty is a long one (a mean of 20 minutes).
    const mean = random.chance(0.05) ? 1200 : 100;
    return Math.min(7200, 3 + Math.round(random.exponential(mean)));
  };
  const subscriberNumber = (prefixes: readonly string[]): string =>
    `${random.pick(prefixes)}${String(random.int(1_000_000, 9_999_999))}`;

  // --- The mobile core (CSV) ---------------------------------------------------------------------
  const roamingEu = mobiles.find((s) => s.addOns.includes('ROAMING-PACK-EU'));
  const roamingWorld = mobiles.find(
    (s) => s.offerCode === 'ENTERPRISE-FLEX' && !s.addOns.includes('ROAMING-PACK-EU'),
  );
  const mobileEvents: Event[] = [];
  let cdr = 0;
  const cdrId = (element: string): string => `${element}-${compact}-${String(++cdr).padStart(6, '0')}`;
  for (const subscriber of mobiles) {
    const msisdn = nationalForm(subscriber.msisdn as string);
    const profile = profileOf(subscriber, weekend);
    const abroad =
      subscriber === roamingEu ? ROAMING_EU : subscriber === roamingWorld ? ROAMING_WORLD : undefined;
    const visited = abroad === undefined ? ['', 'N'] : [abroad.mccMnc, 'Y'];
    const cell = (): string =>
      abroad === undefined ? `26201-${random.int(1000, 1999)}` : `${abroad.mccMnc}-${random.int(100, 999)}`;

    for (let i = random.poisson(profile.calls); i > 0; i--) {
      const wall = wallAt(profile.hours);
      let called: string;
      const r = random.next();
      if (abroad !== undefined) {
        // Abroad: calls home (in international form) and local calls in the visited country.
        called = r < 0.6 ? `0049${random.pick(ownNumbers).slice(1)}` : subscriberNumber([abroad.country]);
      } else if (r < 0.15) called = random.pick(ownNumbers);
      else if (r < 0.55) called = subscriberNumber(NATIONAL_MOBILE);
      else if (r < 0.87) called = subscriberNumber(NATIONAL_FIXED);
      else if (r < 0.97 || subscriber.offerCode === 'MOBILE-PREPAID')
        called = subscriberNumber(INTERNATIONAL);
      else called = subscriberNumber(FAR_AWAY);
      mobileEvents.push({
        wallMs: wall,
        line: [
          cdrId('MSC1'),
          'MOC',
          msisdn,
          called,
          localText(wall),
          callSeconds(),
          '',
          '',
          '',
          cell(),
          ...visited,
        ].join(','),
      });
    }
    for (let i = random.poisson(profile.sms); i > 0; i--) {
      const wall = wallAt(profile.hours);
      const called = random.chance(0.3) ? random.pick(ownNumbers) : subscriberNumber(NATIONAL_MOBILE);
      mobileEvents.push({
        wallMs: wall,
        line: [
          cdrId('MSC1'),
          'SMS-MO',
          msisdn,
          called,
          localText(wall),
          '',
          '',
          '',
          '',
          cell(),
          ...visited,
        ].join(','),
      });
    }
    for (let i = random.poisson(profile.sessions); i > 0; i--) {
      const wall = wallAt(profile.hours);
      // A session of a few minutes to an hour; downlink a few MB (a video now and then), uplink a tenth.
      const down = Math.round(random.exponential(random.chance(0.1) ? 150_000_000 : 6_000_000)) + 20_000;
      const up = Math.round(down * (0.05 + random.next() * 0.1)) + 2_000;
      mobileEvents.push({
        wallMs: wall,
        line: [
          cdrId('PGW1'),
          'PDP',
          msisdn,
          '',
          localText(wall),
          random.int(60, 3600),
          up,
          down,
          'internet.demo',
          cell(),
          ...visited,
        ].join(','),
      });
    }
  }
  // The deliberate faults of the day, at fixed times so the story reads the same every day.
  const noon = day.localDay * MS_PER_DAY + 12 * MS_PER_HOUR;
  mobileEvents.push({
    // A number this operator never issued (a partner's test SIM): unknown_subscriber.
    wallMs: noon + 7 * MS_PER_MINUTE,
    line: [
      cdrId('MSC1'),
      'MOC',
      '015199999999',
      '030123456',
      localText(noon + 7 * MS_PER_MINUTE),
      42,
      '',
      '',
      '',
      '26201-1234',
      '',
      'N',
    ].join(','),
  });
  mobileEvents.push({
    // A line the mediation device cut short (only five of twelve columns): malformed_record.
    wallMs: noon + 31 * MS_PER_MINUTE,
    line: [
      cdrId('MSC1'),
      'MOC',
      ownNumbers[0] ?? '015120000001',
      '0301234567',
      localText(noon + 31 * MS_PER_MINUTE),
    ].join(','),
  });
  mobileEvents.sort((a, b) => a.wallMs - b.wallMs);
  // The MSC sent one CDR twice (after a link flap): the copy, right after it, is a duplicate.
  const resent = mobileEvents.findIndex((e) => e.line.includes(',MOC,') && e.wallMs > noon);
  if (resent >= 0) mobileEvents.splice(resent + 1, 0, mobileEvents[resent] as Event);
  const mobileHeader =
    'cdr_id,record_type,served_msisdn,other_party,start_local,duration_s,bytes_up,bytes_down,apn,cell_id,visited_plmn,roaming';

  // --- The home phone (Asterisk Master.csv, loguniqueid) -----------------------------------------
  const fixedEvents: Event[] = [];
  let sequence = 0;
  for (const subscriber of subscribers.filter((s) => s.sipUri !== undefined)) {
    const count = 2 + random.poisson(weekend ? 6 : 4);
    for (let i = 0; i < count; i++) {
      const wall = wallAt(HOME_HOURS);
      const r = random.next();
      const dst =
        r < 0.45
          ? subscriberNumber(NATIONAL_FIXED)
          : r < 0.85
            ? subscriberNumber(NATIONAL_MOBILE)
            : subscriberNumber(INTERNATIONAL);
      // The first call of the day rang out unanswered: a record of 0 s, not a reject.
      const answered = i !== 0;
      fixedEvents.push({
        wallMs: wall,
        line: asteriskLine(
          subscriber.sipUri as string,
          dst,
          wall,
          answered ? callSeconds() : 0,
          answered,
          random,
          ++sequence,
          localText,
        ),
      });
    }
    // A call to the voicemail extension "s" (a dialplan name, not a number): unparseable.
    const evening = day.localDay * MS_PER_DAY + 19 * MS_PER_HOUR + 12 * MS_PER_MINUTE;
    fixedEvents.push({
      wallMs: evening,
      line: asteriskLine(subscriber.sipUri as string, 's', evening, 35, true, random, ++sequence, localText),
    });
  }
  fixedEvents.sort((a, b) => a.wallMs - b.wallMs);

  // --- The smart meters (JSON lines, UTC) ----------------------------------------------------------
  const iotEvents: Event[] = [];
  const meters = subscribers.filter((s) => s.deviceId !== undefined);
  for (const meter of meters) {
    const id = meter.deviceId as string;
    // Each meter keeps its own phase in the quarter hour.
    const phaseMs = random.int(0, 899) * MS_PER_SECOND;
    for (let t = day.startMs + phaseMs; t < day.endMs; t += 15 * MS_PER_MINUTE) {
      const startMs = t + random.int(0, 20) * MS_PER_SECOND;
      iotEvents.push({
        wallMs: startMs,
        line: JSON.stringify({
          service: 'iot',
          identity: id,
          start: new Date(startMs).toISOString(),
          durationSec: random.int(2, 9),
          volumeUpBytes: random.int(1_200, 4_800),
          volumeDownBytes: random.int(180, 640),
          // A reading is data, not an event: the count says so (the reader counts 1 otherwise).
          count: 0,
          apn: 'meters.demo',
          sourceRecordId: `${id}:${Math.floor(startMs / MS_PER_SECOND)}`,
        }),
      });
    }
    if (random.chance(0.3)) {
      const startMs =
        day.startMs + random.int(0, Math.floor(dayLengthMs / MS_PER_SECOND) - 1) * MS_PER_SECOND;
      iotEvents.push({
        wallMs: startMs,
        line: JSON.stringify({
          service: 'iot',
          identity: id,
          start: new Date(startMs).toISOString(),
          eventType: 'sms',
          count: 1,
          extra: { alarm: random.pick(['tamper', 'power-loss', 'low-battery']) },
          sourceRecordId: `${id}:alarm:${Math.floor(startMs / MS_PER_SECOND)}`,
        }),
      });
    }
  }
  const iotNoon = day.startMs + 12 * MS_PER_HOUR;
  // A meter from another customer's fleet that reports to the same platform: unknown_subscriber.
  iotEvents.push({
    wallMs: iotNoon + 3 * MS_PER_MINUTE,
    line: JSON.stringify({
      service: 'iot',
      identity: 'meter-00042',
      start: new Date(iotNoon + 3 * MS_PER_MINUTE).toISOString(),
      volumeUpBytes: 2048,
      count: 0,
      sourceRecordId: `meter-00042:${Math.floor((iotNoon + 3 * MS_PER_MINUTE) / MS_PER_SECOND)}`,
    }),
  });
  // A line the platform truncated while writing: not JSON, malformed_record.
  iotEvents.push({
    wallMs: iotNoon + 9 * MS_PER_MINUTE,
    line: `{"service":"iot","identity":"${meters[0]?.deviceId ?? 'meter-00001'}","start":"${new Date(iotNoon + 9 * MS_PER_MINUTE).toISOString()}","volumeUpBy`,
  });
  iotEvents.sort((a, b) => a.wallMs - b.wallMs);

  const file = (source: string, name: string, header: string | undefined, events: readonly Event[]) => ({
    source,
    name,
    text: `${[...(header === undefined ? [] : [header]), ...events.map((e) => e.line)].join('\n')}\n`,
    records: events.length,
  });
  return {
    day,
    files: [
      file('mobile-core', `mobile-core-${compact}.csv`, mobileHeader, mobileEvents),
      file('fixed-voip', `fixed-voip-Master-${compact}.csv`, undefined, fixedEvents),
      file('iot-platform', `iot-platform-${compact}.jsonl`, undefined, iotEvents),
    ],
  };
}

/** "4915120000003" (E.164 digits) as a German MSC writes it: "015120000003". */
function nationalForm(msisdn: string): string {
  const digits = msisdn.replace(/^\+/, '');
  return digits.startsWith('49') ? `0${digits.slice(2)}` : `00${digits}`;
}

/** One Master.csv record with uniqueid (17 columns), as cdr_csv quotes it. */
function asteriskLine(
  sipUri: string,
  dst: string,
  answerWallMs: number,
  billsec: number,
  answered: boolean,
  random: DemoRandom,
  sequence: number,
  localText: (wallMs: number) => string,
): string {
  const ringSec = random.int(3, 20);
  const startWall = answerWallMs - ringSec * MS_PER_SECOND;
  const endWall = answerWallMs + billsec * MS_PER_SECOND;
  const quote = (text: string): string => `"${text.replaceAll('"', '""')}"`;
  const startSec = Math.floor(instantOfLocal(DEMO_TIME_ZONE, startWall) / MS_PER_SECOND);
  const user = /^sips?:([^@]+)@/.exec(sipUri)?.[1] ?? sipUri;
  return [
    quote('home-501'),
    quote(sipUri),
    quote(dst),
    quote('from-subscriber'),
    quote(`"Home" <${user}>`),
    quote(`PJSIP/home-501-${sequence.toString(16).padStart(8, '0')}`),
    quote(`PJSIP/trunk-${(sequence + 4096).toString(16).padStart(8, '0')}`),
    quote('Dial'),
    quote(`PJSIP/${dst}@trunk,60`),
    quote(localText(startWall)),
    quote(answered ? localText(answerWallMs) : ''),
    quote(localText(answered ? endWall : answerWallMs)),
    String(answered ? billsec + ringSec : ringSec),
    String(answered ? billsec : 0),
    quote(answered ? 'ANSWERED' : 'NO ANSWER'),
    quote('DOCUMENTATION'),
    quote(`${startSec}.${sequence}`),
  ].join(',');
}

// ---------------------------------------------------------------------------------------------
// Seeding

export interface DemoUsageInput {
  /** The source definitions (examples/usage/sources.yaml): a YAML list. */
  readonly sources: { readonly file: string; readonly text: string };
  /** The customers file the demo imported (the subscribers whose traffic is generated). */
  readonly customers: { readonly file: string; readonly text: string };
  /** Where the generated files are written (data/demo-usage): one folder per day. */
  readonly directory: string;
}

export interface DemoUsageImport {
  readonly source: string;
  readonly file: string;
  readonly importId: string;
  /** 'completed' when the controls balanced (always, unless something is wrong). */
  readonly status: string;
  readonly recordsIn: number;
  readonly rated: number;
  readonly rejected: number;
  readonly duplicates: number;
  readonly resumed: boolean;
}

export interface DemoUsageSummary {
  /** The local day the traffic is of, "YYYY-MM-DD". */
  readonly day: string;
  readonly directory: string;
  readonly sources: readonly string[];
  readonly imports: readonly DemoUsageImport[];
  readonly recordsIn: number;
  readonly rated: number;
  readonly rejected: number;
  readonly duplicates: number;
}

/**
 * Defines the demo's usage sources, writes the demo day's files and imports them. Safe to run
 * again for the same day: a completed import of the same file is recognised (its checksum) and
 * counted as it was, and an interrupted one resumes.
 */
export async function seedDemoUsage(
  deps: WorkflowDeps,
  caller: Caller,
  input: DemoUsageInput,
): Promise<DemoUsageSummary> {
  const parsed: unknown = parseYaml(input.sources.text);
  const definitions = Array.isArray(parsed) ? (parsed as unknown[]) : [parsed];
  const sources: string[] = [];
  for (const definition of definitions) {
    const defined = await defineSource(deps, caller, definition);
    sources.push(defined.source.definition.name);
  }
  const traffic = generateDemoTraffic(deps.clock.nowMs(), demoSubscribersFromCsv(input.customers.text));
  const directory = join(input.directory, traffic.day.date);
  await mkdir(directory, { recursive: true });
  const imports: DemoUsageImport[] = [];
  for (const file of traffic.files) {
    if (!sources.includes(file.source)) {
      throw fail(
        CommonErrors.invalid_input,
        `the demo traffic has a file for source ${file.source}, which ${input.sources.file} does not define`,
        { field: 'sources', record: input.sources.file },
      );
    }
    const path = join(directory, file.name);
    await writeFile(path, file.text);
    let result: ImportFileResult;
    try {
      result = await importUsageFile(deps, caller, { source: file.source, path });
    } catch (error) {
      // Seeded before (a second run for the same day): the records are in already; count them.
      if (
        !isTollgateError(error) ||
        error.definition !== UsageErrors.already_imported ||
        error.record === undefined
      ) {
        throw error;
      }
      result = { import: await getImport(deps, caller.tenantId, error.record), resumed: false, controls: [] };
    }
    const i = result.import;
    imports.push({
      source: file.source,
      file: path,
      importId: i.id,
      status: i.status,
      recordsIn: i.recordsIn,
      rated: i.rated,
      rejected: i.rejected,
      duplicates: i.duplicates,
      resumed: result.resumed,
    });
  }
  const total = (key: 'recordsIn' | 'rated' | 'rejected' | 'duplicates'): number =>
    imports.reduce((sum, i) => sum + i[key], 0);
  return {
    day: traffic.day.date,
    directory,
    sources,
    imports,
    recordsIn: total('recordsIn'),
    rated: total('rated'),
    rejected: total('rejected'),
    duplicates: total('duplicates'),
  };
}
