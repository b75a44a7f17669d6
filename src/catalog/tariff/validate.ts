/**
 * Validation of a tariff definition: every problem at once, each with the JSON pointer of the
 * value at fault, so an author (or the rate-deck importer) can fix a whole file in one round.
 *
 * It accepts anything (a definition usually arrives as parsed JSON) and never throws on bad
 * shapes: a missing array or a number where text belongs is one more problem. compileTariff runs
 * it first and compiles nothing unless it reports no problem, so a bad definition is never
 * partially applied.
 */
import { isCurrency } from '../../kernel/currencies.js';
import { parseDecimal } from '../../kernel/decimal.js';
import { isTollgateError } from '../../kernel/errors.js';
import { RATED_SCALE } from '../../kernel/money.js';
import {
  describeMinuteOfWeek,
  formatClock,
  isTimeZone,
  MINUTES_PER_WEEK,
  parseClock,
  parseLocalDate,
  windowRanges,
} from './calendar.js';
import { WEEKDAYS, type TariffProblem, type Weekday } from './model.js';
import { MAX_PREFIX_DIGITS } from './prefix-trie.js';

type Json = Record<string, unknown>;

/** Every problem of `definition`; an empty list means compileTariff will accept it. */
export function validateTariff(definition: unknown): TariffProblem[] {
  const v = new Validator();
  v.tariff(definition);
  return v.problems;
}

class Validator {
  readonly problems: TariffProblem[] = [];
  private zoneIds = new Set<string>();
  private currencies = new Set<string>();
  private bandNames = new Set<string>();
  private tableIds = new Map<string, number>();
  /** Zones used by each prefix table, by table index (for the voice rate coverage check). */
  private zonesOfTable: Array<Set<string>> = [];

  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  tariff(def: unknown): void {
    if (!isObject(def)) {
      this.problem('', `a tariff must be an object, got ${describe(def)}`);
      return;
    }
    this.nonEmptyText(def.id, '/id');
    this.nonEmptyText(def.name, '/name');
    if (!isTimeZone(def.timeZone)) {
      this.problem(
        '/timeZone',
        `${describe(def.timeZone)} is not an IANA time zone this runtime knows (such as "Europe/Berlin")`,
      );
    }
    this.currencyList(def.currencies);
    this.zones(def.zones);
    if (def.timeBands !== undefined) this.timeBands(def.timeBands);
    this.prefixTables(def.prefixTables);
    if (def.roaming !== undefined) this.roaming(def.roaming);
    if (def.voice !== undefined) this.voice(def.voice);
    if (def.data !== undefined) this.data(def.data);
    if (def.events !== undefined) this.events(def.events);
  }

  private currencyList(value: unknown): void {
    const list = this.array(value, '/currencies');
    if (list === undefined) return;
    if (list.length === 0) this.problem('/currencies', 'a tariff prices in at least one currency');
    list.forEach((code, i) => {
      const path = `/currencies/${i}`;
      if (!this.currency(code, path)) return;
      if (this.currencies.has(code as string))
        this.problem(path, `currency ${code as string} is listed twice`);
      this.currencies.add(code as string);
    });
  }

  private zones(value: unknown): void {
    const list = this.array(value, '/zones');
    if (list === undefined) return;
    list.forEach((zone, i) => {
      const path = `/zones/${i}`;
      if (!isObject(zone)) return this.problem(path, `a zone must be an object, got ${describe(zone)}`);
      if (!this.nonEmptyText(zone.id, `${path}/id`)) return;
      const id = zone.id as string;
      if (this.zoneIds.has(id)) this.problem(`${path}/id`, `zone "${id}" is declared twice`);
      this.zoneIds.add(id);
      if (zone.description !== undefined && typeof zone.description !== 'string') {
        this.problem(`${path}/description`, `must be text, got ${describe(zone.description)}`);
      }
    });
  }

  private prefixTables(value: unknown): void {
    const list = this.array(value, '/prefixTables');
    if (list === undefined) return;
    list.forEach((table, t) => {
      const path = `/prefixTables/${t}`;
      const used = new Set<string>();
      this.zonesOfTable[t] = used;
      if (!isObject(table))
        return this.problem(path, `a prefix table must be an object, got ${describe(table)}`);
      if (this.nonEmptyText(table.id, `${path}/id`)) {
        const id = table.id as string;
        if (this.tableIds.has(id)) this.problem(`${path}/id`, `prefix table "${id}" is declared twice`);
        else this.tableIds.set(id, t);
      }
      this.nonEmptyText(table.name, `${path}/name`);
      const entries = this.array(table.entries, `${path}/entries`);
      if (entries !== undefined) this.prefixEntries(entries, path, used);
    });
  }

  /**
   * The per-entry checks of a prefix table. This loop runs 200k times for a large deck, so it
   * avoids regular expressions and allocates only the map of prefixes seen (prefix → entry index),
   * which finds a prefix listed twice and names both of its zones.
   */
  private prefixEntries(entries: unknown[], tablePath: string, used: Set<string>): void {
    const seen = new Map<string, number>();
    for (let e = 0; e < entries.length; e++) {
      const entry = entries[e];
      if (!isObject(entry)) {
        this.problem(`${tablePath}/entries/${e}`, `an entry must be an object, got ${describe(entry)}`);
        continue;
      }
      const prefix = entry.prefix;
      const zone = entry.zone;
      // E.164 numbers never start with 0 (no country code does), so a leading 0 is an access or
      // trunk code the deck should not contain.
      const prefixOk =
        typeof prefix === 'string' && isDigits(prefix, MAX_PREFIX_DIGITS) && prefix.charCodeAt(0) !== 48;
      if (!prefixOk) {
        this.problem(`${tablePath}/entries/${e}/prefix`, prefixMessage(prefix));
      }
      const zoneOk = typeof zone === 'string' && this.zoneIds.has(zone);
      if (!zoneOk) {
        this.problem(
          `${tablePath}/entries/${e}/zone`,
          typeof zone === 'string'
            ? `zone "${zone}" is not declared in /zones`
            : `must be a zone id, got ${describe(zone)}`,
        );
      } else {
        used.add(zone as string);
      }
      if (!prefixOk) continue;
      const first = seen.get(prefix as string);
      if (first === undefined) {
        seen.set(prefix as string, e);
        continue;
      }
      const firstZone = (entries[first] as Json).zone;
      this.problem(
        `${tablePath}/entries/${e}/prefix`,
        firstZone === zone
          ? `prefix ${prefix as string} is listed twice in zone "${String(zone)}" (entries ${first} and ${e})`
          : `prefix ${prefix as string} is in two zones of this table: "${String(firstZone)}" ` +
              `(entry ${first}) and "${String(zone)}" (entry ${e}); a prefix routes to one zone`,
      );
    }
  }

  private timeBands(value: unknown): void {
    const path = '/timeBands';
    if (!isObject(value)) return this.problem(path, `time bands must be an object, got ${describe(value)}`);
    const bands = this.array(value.bands, `${path}/bands`);
    if (bands === undefined) return;
    // Minute of the week -> the (band, window) that claimed it first, to find overlaps.
    const ownerBand = new Int32Array(MINUTES_PER_WEEK).fill(-1);
    const ownerWindow = new Int32Array(MINUTES_PER_WEEK);
    const reported = new Set<string>();
    const names: string[] = [];
    bands.forEach((band, b) => {
      const bandPath = `${path}/bands/${b}`;
      if (!isObject(band)) return this.problem(bandPath, `a band must be an object, got ${describe(band)}`);
      if (this.nonEmptyText(band.name, `${bandPath}/name`)) {
        const name = band.name as string;
        if (this.bandNames.has(name)) this.problem(`${bandPath}/name`, `band "${name}" is declared twice`);
        this.bandNames.add(name);
      }
      names[b] = typeof band.name === 'string' ? band.name : `#${b}`;
      const windows = this.array(band.windows, `${bandPath}/windows`);
      if (windows === undefined) return;
      windows.forEach((window, w) => {
        const windowPath = `${bandPath}/windows/${w}`;
        const ranges = this.bandWindow(window, windowPath);
        if (ranges === undefined) return;
        for (const [start, end] of ranges) {
          for (let minute = start; minute < end; minute++) {
            const ob = ownerBand[minute] as number;
            if (ob < 0) {
              ownerBand[minute] = b;
              ownerWindow[minute] = w;
              continue;
            }
            const ow = ownerWindow[minute] as number;
            const key = `${ob}/${ow}|${b}/${w}`;
            if (reported.has(key)) continue;
            reported.add(key);
            const other = ob === b ? `window ${ow} of the same band` : `band "${names[ob]}" window ${ow}`;
            this.problem(
              windowPath,
              `window ${w} of band "${names[b]}" overlaps ${other} (first at ${describeMinuteOfWeek(minute)}); ` +
                'every minute of the week belongs to one band',
            );
          }
        }
      });
    });
    if (this.nonEmptyText(value.defaultBand, `${path}/defaultBand`)) {
      this.knownBand(value.defaultBand as string, `${path}/defaultBand`);
    }
    if (value.holidayBand !== undefined && this.nonEmptyText(value.holidayBand, `${path}/holidayBand`)) {
      this.knownBand(value.holidayBand as string, `${path}/holidayBand`);
    }
    if (value.holidayCalendar !== undefined) {
      const calPath = `${path}/holidayCalendar`;
      const calendar = value.holidayCalendar;
      if (!isObject(calendar)) return this.problem(calPath, `must be an object, got ${describe(calendar)}`);
      this.nonEmptyText(calendar.name, `${calPath}/name`);
      const dates = this.array(calendar.dates, `${calPath}/dates`);
      if (dates === undefined) return;
      const seen = new Set<string>();
      dates.forEach((date, i) => {
        const datePath = `${calPath}/dates/${i}`;
        if (parseLocalDate(date) === undefined) {
          this.problem(datePath, `${describe(date)} is not a calendar date "YYYY-MM-DD"`);
        } else if (seen.has(date as string)) {
          this.problem(datePath, `holiday ${date as string} is listed twice`);
        } else {
          seen.add(date as string);
        }
      });
      if (dates.length > 0 && value.holidayBand === undefined) {
        this.problem(`${path}/holidayBand`, 'the holiday calendar lists dates, so a holidayBand is required');
      }
    }
  }

  /** Checks one window and returns its minute-of-week ranges, or undefined when it is malformed. */
  private bandWindow(window: unknown, path: string): Array<[number, number]> | undefined {
    if (!isObject(window)) {
      this.problem(path, `a window must be an object, got ${describe(window)}`);
      return undefined;
    }
    let ok = true;
    const days: number[] = [];
    const list = this.array(window.days, `${path}/days`);
    if (list === undefined) ok = false;
    else {
      if (list.length === 0) {
        this.problem(`${path}/days`, 'a window applies on at least one day');
        ok = false;
      }
      list.forEach((day, i) => {
        const index = WEEKDAYS.indexOf(day as Weekday);
        if (index < 0) {
          this.problem(
            `${path}/days/${i}`,
            `${describe(day)} is not a day; use one of ${WEEKDAYS.join(', ')}`,
          );
          ok = false;
        } else if (days.includes(index)) {
          this.problem(`${path}/days/${i}`, `day ${day as string} is listed twice`);
        } else {
          days.push(index);
        }
      });
    }
    const from = parseClock(window.from, false);
    const to = parseClock(window.to, true);
    if (from === undefined) {
      this.problem(`${path}/from`, `${describe(window.from)} is not a time "HH:MM" from 00:00 to 23:59`);
      ok = false;
    }
    if (to === undefined) {
      this.problem(`${path}/to`, `${describe(window.to)} is not a time "HH:MM" from 00:00 to 24:00`);
      ok = false;
    }
    if (from !== undefined && to !== undefined && from === to % 1440 && to !== 1440) {
      this.problem(
        `${path}/to`,
        `a window from ${formatClock(from)} to ${formatClock(to)} is ambiguous (empty or 24 hours); ` +
          'write 00:00-24:00 for a whole day',
      );
      ok = false;
    }
    return ok && from !== undefined && to !== undefined ? windowRanges(days, from, to) : undefined;
  }

  private knownBand(name: string, path: string): void {
    if (!this.bandNames.has(name)) this.problem(path, `band "${name}" is not declared in /timeBands/bands`);
  }

  private roaming(value: unknown): void {
    const path = '/roaming';
    if (!isObject(value)) return this.problem(path, `must be an object, got ${describe(value)}`);
    const list = this.array(value.networks, `${path}/networks`);
    if (list === undefined) return;
    const seen = new Map<string, number>();
    list.forEach((network, i) => {
      const netPath = `${path}/networks/${i}`;
      if (!isObject(network)) return this.problem(netPath, `must be an object, got ${describe(network)}`);
      const mccMnc = network.mccMnc;
      if (typeof mccMnc !== 'string' || !/^[0-9]{5,6}$/.test(mccMnc)) {
        this.problem(
          `${netPath}/mccMnc`,
          `${describe(mccMnc)} is not an MCC-MNC (5 or 6 digits, e.g. "26201")`,
        );
      } else if (seen.has(mccMnc)) {
        this.problem(
          `${netPath}/mccMnc`,
          `network ${mccMnc} is already listed (network ${seen.get(mccMnc)})`,
        );
      } else {
        seen.set(mccMnc, i);
      }
      this.zoneRef(network.zone, `${netPath}/zone`);
    });
  }

  private voice(value: unknown): void {
    const path = '/voice';
    if (!isObject(value)) return this.problem(path, `must be an object, got ${describe(value)}`);
    let tableIndex: number | undefined;
    if (this.nonEmptyText(value.prefixTableId, `${path}/prefixTableId`)) {
      tableIndex = this.tableIds.get(value.prefixTableId as string);
      if (tableIndex === undefined) {
        this.problem(
          `${path}/prefixTableId`,
          `prefix table "${value.prefixTableId as string}" is not declared in /prefixTables`,
        );
      }
    }
    if (value.bandCrossing !== 'start' && value.bandCrossing !== 'split') {
      this.problem(`${path}/bandCrossing`, `must be "start" or "split", got ${describe(value.bandCrossing)}`);
    }
    const rates = this.array(value.rates, `${path}/rates`);
    if (rates === undefined) return;
    const rated = new Map<string, number>();
    rates.forEach((rate, i) => {
      const key = this.zoneRate(rate, `${path}/rates/${i}`);
      if (key === undefined) return;
      const first = rated.get(key);
      if (first !== undefined) {
        const [zone, currency] = key.split('\u0000');
        this.problem(
          `${path}/rates/${i}`,
          `zone "${zone}" already has a ${currency} rate (rate ${first}); one rate per zone and currency`,
        );
      } else {
        rated.set(key, i);
      }
    });
    // Every zone the routing table can produce must be priced in every currency of the tariff,
    // otherwise a call that routes fine would fail at charging time.
    const used = tableIndex === undefined ? undefined : this.zonesOfTable[tableIndex];
    for (const zone of used ?? []) {
      for (const currency of this.currencies) {
        if (!rated.has(`${zone}\u0000${currency}`)) {
          this.problem(
            `${path}/rates`,
            `zone "${zone}" is in the voice prefix table but has no ${currency} rate`,
          );
        }
      }
    }
  }

  /** Checks one voice rate; returns its "zone\0currency" key when both are usable. */
  private zoneRate(rate: unknown, path: string): string | undefined {
    if (!isObject(rate)) {
      this.problem(path, `a rate must be an object, got ${describe(rate)}`);
      return undefined;
    }
    const zoneOk = this.zoneRef(rate.zone, `${path}/zone`);
    const currencyOk = this.tariffCurrency(rate.currency, `${path}/currency`);
    this.money(rate.connectFee, `${path}/connectFee`);
    this.positiveInteger(rate.unitSeconds, `${path}/unitSeconds`);
    this.money(rate.unitPrice, `${path}/unitPrice`);
    if (!isObject(rate.increments)) {
      this.problem(`${path}/increments`, `must be { firstSec, nextSec }, got ${describe(rate.increments)}`);
    } else {
      this.positiveInteger(rate.increments.firstSec, `${path}/increments/firstSec`);
      this.positiveInteger(rate.increments.nextSec, `${path}/increments/nextSec`);
    }
    const min =
      rate.minimumCharge === undefined ? undefined : this.money(rate.minimumCharge, `${path}/minimumCharge`);
    const max =
      rate.maximumCharge === undefined ? undefined : this.money(rate.maximumCharge, `${path}/maximumCharge`);
    if (min !== undefined && max !== undefined && min > max) {
      this.problem(
        `${path}/minimumCharge`,
        `minimum charge ${rate.minimumCharge as string} is more than the maximum charge ${rate.maximumCharge as string}`,
      );
    }
    if (rate.bandPrices !== undefined) {
      const list = this.array(rate.bandPrices, `${path}/bandPrices`);
      const seen = new Set<string>();
      list?.forEach((bandPrice, i) => {
        const bpPath = `${path}/bandPrices/${i}`;
        if (!isObject(bandPrice))
          return this.problem(bpPath, `must be an object, got ${describe(bandPrice)}`);
        if (this.nonEmptyText(bandPrice.band, `${bpPath}/band`)) {
          const band = bandPrice.band as string;
          this.knownBand(band, `${bpPath}/band`);
          if (seen.has(band))
            this.problem(`${bpPath}/band`, `band "${band}" already has a price in this rate`);
          seen.add(band);
        }
        this.money(bandPrice.unitPrice, `${bpPath}/unitPrice`);
      });
    }
    return zoneOk && currencyOk ? `${rate.zone as string}\u0000${rate.currency as string}` : undefined;
  }

  private data(value: unknown): void {
    const list = this.array(value, '/data');
    const seen = new Map<string, number>();
    list?.forEach((rate, i) => {
      const path = `/data/${i}`;
      if (!isObject(rate)) return this.problem(path, `a data rate must be an object, got ${describe(rate)}`);
      const currencyOk = this.tariffCurrency(rate.currency, `${path}/currency`);
      const zoneOk = rate.roamingZone === undefined || this.zoneRef(rate.roamingZone, `${path}/roamingZone`);
      this.positiveInteger(rate.blockBytes, `${path}/blockBytes`);
      this.pricing(rate.pricing, `${path}/pricing`);
      if (!currencyOk || !zoneOk) return;
      const key = `${String(rate.roamingZone ?? '')}\u0000${rate.currency as string}`;
      const first = seen.get(key);
      if (first !== undefined) {
        this.problem(
          path,
          `data is already priced in ${rate.currency as string} ${where(rate.roamingZone)} (data ${first})`,
        );
      } else {
        seen.set(key, i);
      }
    });
  }

  private events(value: unknown): void {
    const list = this.array(value, '/events');
    const seen = new Map<string, number>();
    list?.forEach((price, i) => {
      const path = `/events/${i}`;
      if (!isObject(price))
        return this.problem(path, `an event price must be an object, got ${describe(price)}`);
      const typeOk = this.nonEmptyText(price.eventType, `${path}/eventType`);
      const currencyOk = this.tariffCurrency(price.currency, `${path}/currency`);
      const zoneOk =
        price.roamingZone === undefined || this.zoneRef(price.roamingZone, `${path}/roamingZone`);
      const inEvent = price.pricedInEvent;
      if (inEvent !== undefined && typeof inEvent !== 'boolean') {
        this.problem(`${path}/pricedInEvent`, `must be true or false, got ${describe(inEvent)}`);
      }
      if (inEvent === true && price.pricing !== undefined) {
        this.problem(
          path,
          'an event is either priced by the tariff (pricing) or by itself (pricedInEvent), not both',
        );
      } else if (inEvent !== true && price.pricing === undefined) {
        this.problem(`${path}/pricing`, 'an event needs a pricing, or pricedInEvent: true');
      } else if (price.pricing !== undefined) {
        this.pricing(price.pricing, `${path}/pricing`);
      }
      if (!typeOk || !currencyOk || !zoneOk) return;
      const key = `${price.eventType as string}\u0000${String(price.roamingZone ?? '')}\u0000${price.currency as string}`;
      const first = seen.get(key);
      if (first !== undefined) {
        this.problem(
          path,
          `event "${price.eventType as string}" is already priced in ${price.currency as string} ` +
            `${where(price.roamingZone)} (event ${first})`,
        );
      } else {
        seen.set(key, i);
      }
    });
  }

  private pricing(value: unknown, path: string): void {
    if (!isObject(value)) return this.problem(path, `must be a pricing object, got ${describe(value)}`);
    if (value.mode === 'flat') {
      this.money(value.unitPrice, `${path}/unitPrice`);
      return;
    }
    if (value.mode !== 'graduated' && value.mode !== 'volume') {
      return this.problem(
        `${path}/mode`,
        `must be "flat", "graduated" or "volume", got ${describe(value.mode)}`,
      );
    }
    const tiers = this.array(value.tiers, `${path}/tiers`);
    if (tiers === undefined) return;
    if (tiers.length === 0) return this.problem(`${path}/tiers`, 'tiered pricing needs at least one tier');
    let previous = 0n;
    tiers.forEach((tier, i) => {
      const tierPath = `${path}/tiers/${i}`;
      if (!isObject(tier)) return this.problem(tierPath, `a tier must be an object, got ${describe(tier)}`);
      this.money(tier.unitPrice, `${tierPath}/unitPrice`);
      const last = i === tiers.length - 1;
      if (tier.upTo === undefined) {
        if (!last) this.problem(`${tierPath}/upTo`, 'only the last tier may be open-ended (no upTo)');
        return;
      }
      if (last) {
        this.problem(
          `${tierPath}/upTo`,
          'the last tier must be open-ended (no upTo), so every count has a price',
        );
      }
      if (typeof tier.upTo !== 'string' || !isDigits(tier.upTo, 30)) {
        return this.problem(
          `${tierPath}/upTo`,
          `must be a whole number as text such as "1000", got ${describe(tier.upTo)}`,
        );
      }
      const upTo = BigInt(tier.upTo);
      if (upTo <= previous) {
        this.problem(
          `${tierPath}/upTo`,
          i === 0
            ? 'upTo must be more than 0'
            : `tiers must increase: upTo ${upTo} is not more than the previous tier's ${previous}`,
        );
      }
      previous = upTo > previous ? upTo : previous;
    });
  }

  // --- small checks, each reporting its own problem and returning whether the value is usable ---

  private array(value: unknown, path: string): unknown[] | undefined {
    if (Array.isArray(value)) return value;
    this.problem(path, `must be a list, got ${describe(value)}`);
    return undefined;
  }

  private nonEmptyText(value: unknown, path: string): boolean {
    if (typeof value === 'string' && value.trim() !== '') return true;
    this.problem(path, `must be non-empty text, got ${describe(value)}`);
    return false;
  }

  private currency(value: unknown, path: string): boolean {
    if (isCurrency(value)) return true;
    const hint = typeof value === 'string' && isCurrency(value.toUpperCase()) ? `; codes are upper case` : '';
    this.problem(path, `${describe(value)} is not an ISO 4217 currency code${hint}`);
    return false;
  }

  private tariffCurrency(value: unknown, path: string): boolean {
    if (!this.currency(value, path)) return false;
    if (this.currencies.has(value as string)) return true;
    this.problem(path, `currency ${value as string} is not one of the tariff's currencies (/currencies)`);
    return false;
  }

  private zoneRef(value: unknown, path: string): boolean {
    if (typeof value === 'string' && this.zoneIds.has(value)) return true;
    this.problem(
      path,
      typeof value === 'string'
        ? `zone "${value}" is not declared in /zones`
        : `must be a zone id, got ${describe(value)}`,
    );
    return false;
  }

  private positiveInteger(value: unknown, path: string): boolean {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 1) return true;
    this.problem(path, `must be a whole number of at least 1, got ${describe(value)}`);
    return false;
  }

  /** A non-negative decimal at the rated scale; returns it in pico-units, or undefined after a problem. */
  private money(value: unknown, path: string): bigint | undefined {
    if (typeof value !== 'string') {
      this.problem(
        path,
        `must be decimal text such as "0.0125", got ${describe(value)}` +
          (typeof value === 'number' ? '; amounts are written as strings so no digit is lost' : ''),
      );
      return undefined;
    }
    let pico: bigint;
    try {
      pico = parseDecimal(value, RATED_SCALE, { field: path });
    } catch (error) {
      if (!isTollgateError(error)) throw error;
      this.problem(path, error.message);
      return undefined;
    }
    if (pico < 0n) {
      this.problem(path, `${JSON.stringify(value)} is negative; prices, fees and charges are 0 or more`);
      return undefined;
    }
    return pico;
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** 1 to `max` ASCII digits, checked with charCodeAt (no regular expression in the 200k loop). */
export function isDigits(text: string, max: number): boolean {
  const n = text.length;
  if (n === 0 || n > max) return false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c >>> 0 > 9) return false;
  }
  return true;
}

function prefixMessage(prefix: unknown): string {
  if (typeof prefix !== 'string') return `must be digits as text such as "4930", got ${describe(prefix)}`;
  if (prefix === '') return 'a prefix has at least one digit';
  if (prefix.length > MAX_PREFIX_DIGITS)
    return `${JSON.stringify(prefix)} is longer than ${MAX_PREFIX_DIGITS} digits`;
  if (prefix.startsWith('+') || prefix.startsWith('0')) {
    return (
      `${JSON.stringify(prefix)} must be E.164 digits: no "+", international access code (00) or ` +
      'trunk prefix (0); write 4930, not +4930 or 004930'
    );
  }
  return `${JSON.stringify(prefix)} has a character that is not a digit 0-9`;
}

function where(roamingZone: unknown): string {
  return roamingZone === undefined ? 'at home' : `in roaming zone "${String(roamingZone)}"`;
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${String(value)}`;
  if (typeof value === 'bigint') return `bigint ${value}`;
  if (Array.isArray(value)) return 'a list';
  return typeof value === 'object' ? 'an object' : typeof value;
}
