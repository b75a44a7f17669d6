/**
 * Currencies: the ISO 4217 alphabetic codes Tollgate books money in, each with its minor-unit
 * exponent (the number of decimals of the currency's smallest unit: EUR 2, JPY 0, KWD 3, CLF 4).
 *
 * The exponents follow ISO 4217 List One, not the runtime's Intl (CLDR) data, because CLDR
 * disagrees with ISO for several currencies (it writes 0 for IQD, IRR, LAK and others) and has
 * changed between Node releases; an amount's meaning must not depend on the Node version.
 *
 * What is in the table: every code of List One that has a minor unit, including the fund codes
 * (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW), which are used to denominate real contracts.
 * What is not: codes whose minor unit ISO gives as "N.A." (the metals XAU, XAG, XPD, XPT; the
 * bond-market units XBA to XBD; XDR, XSU, XUA; the test code XTS; XXX "no currency"), because
 * an amount in them has no smallest unit to count; and withdrawn codes (HRK, SLL, ZWL, VEF, MRO,
 * STD, ...). ISO exponents are used as published even where the physical subunit is not decimal:
 * MGA and MRU are listed with 2.
 *
 * Two codes are in transition and kept so that amounts recorded in them still load: ANG
 * (replaced by XCG from 2025-03-31) and CUC (no longer issued, still in List One of 2024-06-25).
 * BGN stays until ISO withdraws it after Bulgaria's move to the euro.
 */
import { MoneyErrors } from './decimal.js';
import { fail } from './errors.js';

export interface Currency {
  /** ISO 4217 alphabetic code, three upper-case letters: "EUR". */
  readonly code: string;
  /** Decimals of the minor unit: an amount of 1 minor unit is 10^-minorUnits of the major unit. */
  readonly minorUnits: number;
}

/** Codes grouped by exponent, alphabetical within each group, so a reviewer can check them against ISO. */
// prettier-ignore
const CODES_BY_MINOR_UNITS: ReadonlyArray<readonly [minorUnits: number, codes: readonly string[]]> = [
  [0, [
    'BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF',
    'XOF', 'XPF',
  ]],
  [2, [
    'AED', 'AFN', 'ALL', 'AMD', 'ANG', 'AOA', 'ARS', 'AUD', 'AWG', 'AZN', 'BAM', 'BBD', 'BDT', 'BGN', 'BMD',
    'BND', 'BOB', 'BOV', 'BRL', 'BSD', 'BTN', 'BWP', 'BYN', 'BZD', 'CAD', 'CDF', 'CHE', 'CHF', 'CHW', 'CNY',
    'COP', 'COU', 'CRC', 'CUC', 'CUP', 'CVE', 'CZK', 'DKK', 'DOP', 'DZD', 'EGP', 'ERN', 'ETB', 'EUR', 'FJD',
    'FKP', 'GBP', 'GEL', 'GHS', 'GIP', 'GMD', 'GTQ', 'GYD', 'HKD', 'HNL', 'HTG', 'HUF', 'IDR', 'ILS', 'INR',
    'IRR', 'JMD', 'KES', 'KGS', 'KHR', 'KPW', 'KYD', 'KZT', 'LAK', 'LBP', 'LKR', 'LRD', 'LSL', 'MAD', 'MDL',
    'MGA', 'MKD', 'MMK', 'MNT', 'MOP', 'MRU', 'MUR', 'MVR', 'MWK', 'MXN', 'MXV', 'MYR', 'MZN', 'NAD', 'NGN',
    'NIO', 'NOK', 'NPR', 'NZD', 'PAB', 'PEN', 'PGK', 'PHP', 'PKR', 'PLN', 'QAR', 'RON', 'RSD', 'RUB', 'SAR',
    'SBD', 'SCR', 'SDG', 'SEK', 'SGD', 'SHP', 'SLE', 'SOS', 'SRD', 'SSP', 'STN', 'SVC', 'SYP', 'SZL', 'THB',
    'TJS', 'TMT', 'TOP', 'TRY', 'TTD', 'TWD', 'TZS', 'UAH', 'USD', 'USN', 'UYU', 'UZS', 'VED', 'VES', 'WST',
    'XCD', 'XCG', 'YER', 'ZAR', 'ZMW', 'ZWG',
  ]],
  [3, ['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']],
  [4, ['CLF', 'UYW']],
];

const CURRENCIES: ReadonlyMap<string, Currency> = new Map(
  CODES_BY_MINOR_UNITS.flatMap(([minorUnits, codes]) =>
    codes.map((code): [string, Currency] => [code, Object.freeze({ code, minorUnits })]),
  ),
);

const ALL_CURRENCIES: readonly Currency[] = Object.freeze(
  [...CURRENCIES.values()].sort((a, b) => (a.code < b.code ? -1 : a.code > b.code ? 1 : 0)),
);

/** True when `code` is a currency in the table. Codes are case-sensitive: "eur" is not a currency. */
export function isCurrency(code: unknown): code is string {
  return typeof code === 'string' && CURRENCIES.has(code);
}

/**
 * The currency for an ISO 4217 code, or a `money.unknown_currency` error naming the code (and the
 * field, when given). Lower case is refused rather than folded, so a stored code is always the
 * canonical one; the message suggests the upper-case form when that one exists.
 */
export function getCurrency(code: string, options: { readonly field?: string } = {}): Currency {
  const found = typeof code === 'string' ? CURRENCIES.get(code) : undefined;
  if (found !== undefined) return found;
  const shown =
    typeof code === 'string'
      ? JSON.stringify(code.length > 12 ? `${code.slice(0, 12)}...` : code)
      : String(code);
  const hint =
    typeof code === 'string' && CURRENCIES.has(code.toUpperCase())
      ? `; codes are upper case: did you mean "${code.toUpperCase()}"?`
      : ', expected an active ISO 4217 alphabetic code such as "EUR"';
  const where = options.field === undefined ? '' : `${options.field}: `;
  throw fail(MoneyErrors.unknown_currency, `${where}unknown currency ${shown}${hint}`, {
    ...(options.field === undefined ? {} : { field: options.field }),
    extra: { currency: typeof code === 'string' ? code : String(code) },
  });
}

/** Every currency in the table, sorted by code. */
export function listCurrencies(): readonly Currency[] {
  return ALL_CURRENCIES;
}
