/**
 * The tariff definition: plain data, JSON-serialisable, as an author writes it and a store keeps
 * it. Nothing here computes; `validate.ts` checks a definition and `compile.ts` turns it into the
 * in-memory form the rating engine charges against.
 *
 * Conventions used by every field below:
 *
 * - Money is decimal text in major units of the named currency, with at most 12 decimals (the
 *   kernel's RATED_SCALE): "0.0125" EUR is 1.25 euro cents. It is never a JSON number, because a
 *   number has already been through binary floating point by the time JSON.parse returns it.
 *   Money text is parsed into bigint pico-units (10^-12 of the major unit) once, at compile time.
 * - Counts that may grow without bound (tier limits) are integer text ("1000"), read as bigint.
 * - Counts that are configuration sizes (seconds of an increment, bytes of a block) are JSON
 *   numbers that must be safe positive integers.
 * - Times of day are local wall-clock times in the tariff's IANA time zone, "HH:MM", 24-hour.
 * - Dates are local calendar dates "YYYY-MM-DD" in the tariff's time zone.
 */

/** A service's price per unit, either one flat price or tiers. */
export type Pricing = FlatPricing | TieredPricing;

/** Every unit costs `unitPrice`. */
export interface FlatPricing {
  readonly mode: 'flat';
  /** Decimal major units per unit (per block of data, per event). */
  readonly unitPrice: string;
}

/**
 * Tiered prices over the units counted in a period (data blocks, events).
 *
 * - 'graduated': each unit is priced by the tier it falls in. With tiers up to 100 at 0.10 and
 *   then 0.05, 150 units cost 100 × 0.10 + 50 × 0.05 = 12.50.
 * - 'volume': every unit is priced by the tier the total falls in, so 150 units cost
 *   150 × 0.05 = 7.50 while 100 units cost 100 × 0.10 = 10.00. See charge.ts for how one charge
 *   in the middle of a period is priced (the difference of the period totals).
 */
export interface TieredPricing {
  readonly mode: 'graduated' | 'volume';
  /** In increasing order of `upTo`; every tier but the last has `upTo`, the last has none. */
  readonly tiers: readonly Tier[];
}

export interface Tier {
  /**
   * The inclusive upper limit of the tier in units counted from the start of the period, as
   * integer text ("100"); absent on the last, open-ended tier. A tier covers the units after the
   * previous tier's `upTo` (or after 0) up to and including its own.
   */
  readonly upTo?: string;
  /** Decimal major units per unit in this tier. */
  readonly unitPrice: string;
}

/** A named destination or roaming zone: 'DE-mobile', 'EU-roaming'. */
export interface ZoneDefinition {
  /** The zone's identifier, unique in the tariff; prefix entries, rates and networks refer to it. */
  readonly id: string;
  /** Free text for people ("Germany mobile"). */
  readonly description?: string;
}

/**
 * Prefix → zone. The called number is matched against the prefixes by longest prefix: with
 * entries 49 → DE-fixed and 4915 → DE-mobile, 4915112345678 is DE-mobile and 4930123456 is DE-fixed.
 */
export interface PrefixTable {
  readonly id: string;
  readonly name: string;
  readonly entries: readonly PrefixEntry[];
}

export interface PrefixEntry {
  /** ASCII digits only, 1 to 15 of them (E.164 without '+' or an international access code). */
  readonly prefix: string;
  /** A zone id declared in `TariffDefinition.zones`. */
  readonly zone: string;
}

/** How a voice call of one zone is priced in one currency. */
export interface ZoneRate {
  /** A zone id declared in `TariffDefinition.zones`. */
  readonly zone: string;
  /** ISO 4217 code; one of `TariffDefinition.currencies`. */
  readonly currency: string;
  /** Decimal major units charged once per answered call, before the usage. "0" for none. */
  readonly connectFee: string;
  /** The length in seconds that `unitPrice` is quoted for: 60 for a per-minute price, 1 per second. */
  readonly unitSeconds: number;
  /** Decimal major units per `unitSeconds` of charged time: "0.0125" per 60 s is 1.25 cents a minute. */
  readonly unitPrice: string;
  /** Charging increments, "first/next" in seconds: 60/60, 30/6, 1/1. See charge.ts. */
  readonly increments: Increments;
  /** Decimal major units: an answered call never costs less, connect fee included. */
  readonly minimumCharge?: string;
  /** Decimal major units: a call never costs more, connect fee included. */
  readonly maximumCharge?: string;
  /** Per time band overrides of `unitPrice`; a band not listed is charged at `unitPrice`. */
  readonly bandPrices?: readonly BandPrice[];
}

export interface Increments {
  /** Any answered call is charged at least this many seconds (positive integer). */
  readonly firstSec: number;
  /** Time beyond `firstSec` is charged in whole blocks of this many seconds (positive integer). */
  readonly nextSec: number;
}

export interface BandPrice {
  /** A band name declared in `TariffDefinition.timeBands.bands`. */
  readonly band: string;
  /** Decimal major units per the rate's `unitSeconds` while this band is in effect. */
  readonly unitPrice: string;
}

/** Day of the week in a band window. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/**
 * Time bands (peak, off-peak, weekend, holiday), evaluated in the tariff's time zone. Every minute
 * of the week belongs to exactly one band: the band whose window covers it, else `defaultBand`;
 * on a holiday of the calendar, the whole local day belongs to `holidayBand`.
 */
export interface TimeBands {
  readonly bands: readonly TimeBand[];
  /** The band of every minute no window covers ('off-peak' in "peak Mon-Fri 08:00-20:00, off-peak otherwise"). */
  readonly defaultBand: string;
  /** The band of every minute of a holiday; required when the calendar lists dates. */
  readonly holidayBand?: string;
  readonly holidayCalendar?: HolidayCalendar;
}

export interface TimeBand {
  /** Unique among the bands: 'peak', 'off-peak', 'weekend', 'holiday'. */
  readonly name: string;
  /** Weekly windows of this band; may be empty for the default and holiday bands. */
  readonly windows: readonly BandWindow[];
}

/**
 * Local times [from, to) on each listed day. `to` may be "24:00" (end of day). A window whose `to`
 * is not after `from` crosses midnight: fri 22:00-06:00 covers Friday 22:00 to Saturday 06:00.
 * Windows of different bands (or of the same band) must not overlap.
 */
export interface BandWindow {
  readonly days: readonly Weekday[];
  /** "HH:MM", 00:00 to 23:59. */
  readonly from: string;
  /** "HH:MM", 00:00 to 24:00. */
  readonly to: string;
}

export interface HolidayCalendar {
  readonly name: string;
  /** Local dates "YYYY-MM-DD" in the tariff's time zone. */
  readonly dates: readonly string[];
}

/** Voice: which prefix table routes the calls and what each zone costs. */
export interface VoiceTariff {
  /** The id of one of `TariffDefinition.prefixTables`. */
  readonly prefixTableId: string;
  /**
   * How a call that crosses a band boundary is priced: 'start' prices the whole call in the band
   * in effect when it starts; 'split' prices each second in the band it falls in (charge.ts).
   */
  readonly bandCrossing: 'start' | 'split';
  /**
   * One rate per (zone, currency) for every zone of the prefix table and every tariff currency
   * (validation checks this). Roaming zones that calls are made from need rates too; a call from
   * a roaming zone without one fails at charging time with tariff.no_rate, since a roaming zone
   * may exist for data or SMS only.
   */
  readonly rates: readonly ZoneRate[];
}

/** Data: bytes rounded up to whole blocks, blocks priced by `pricing` (units = blocks). */
export interface DataRate {
  readonly currency: string;
  /** When set, the rate for sessions in this roaming zone; absent for the home network. */
  readonly roamingZone?: string;
  /**
   * The charging block in bytes (a safe positive integer): a session's bytes are rounded up to a
   * whole number of blocks (1000 bytes: 1001 bytes are charged as 2 blocks). The price is per block:
   * 1 cent per MB with 1 kB blocks is unitPrice "0.00001" (0.01 / 1000).
   */
  readonly blockBytes: number;
  /** Price per block; tier limits count blocks. */
  readonly pricing: Pricing;
}

/**
 * A price for one kind of event: SMS, MMS, a content purchase. Either the tariff prices the event
 * (`pricing`, units = events), or the event carries its own price (`pricedInEvent`: a content
 * purchase at the price the shop set), never both.
 */
export interface EventPrice {
  /** 'sms', 'mms', 'content', ... matched exactly against the event's type. */
  readonly eventType: string;
  readonly currency: string;
  /** When set, the price for events in this roaming zone; absent for the home network. */
  readonly roamingZone?: string;
  readonly pricing?: Pricing;
  /** True when the event's own price is charged (times its count). */
  readonly pricedInEvent?: boolean;
}

/** Visited networks by MCC-MNC, each in a roaming zone. */
export interface RoamingZones {
  readonly networks: readonly RoamingNetwork[];
}

export interface RoamingNetwork {
  /** Mobile country code and network code, 5 or 6 digits: "26201" (Telekom Deutschland). */
  readonly mccMnc: string;
  /** A zone id declared in `TariffDefinition.zones`. */
  readonly zone: string;
}

export interface TariffDefinition {
  readonly id: string;
  readonly name: string;
  /** IANA time zone in which bands and holidays are evaluated: "Europe/Berlin". */
  readonly timeZone: string;
  /** ISO 4217 codes the tariff prices in; the first is the default when a usage names none. */
  readonly currencies: readonly string[];
  readonly zones: readonly ZoneDefinition[];
  readonly prefixTables: readonly PrefixTable[];
  readonly voice?: VoiceTariff;
  /** Without bands, every minute is in one implicit band named 'standard'. */
  readonly timeBands?: TimeBands;
  readonly data?: readonly DataRate[];
  readonly events?: readonly EventPrice[];
  readonly roaming?: RoamingZones;
}

/** One problem found by validation: where (a JSON pointer into the definition) and what. */
export interface TariffProblem {
  /** RFC 6901 JSON pointer: "/prefixTables/0/entries/17/prefix"; "" is the whole definition. */
  readonly path: string;
  readonly message: string;
}

/** The name of the only band of a tariff without time bands. */
export const STANDARD_BAND = 'standard';

export const WEEKDAYS: readonly Weekday[] = Object.freeze(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
