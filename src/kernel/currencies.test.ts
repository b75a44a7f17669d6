import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getCurrency, isCurrency, listCurrencies } from './currencies.js';
import { assertFails } from '../testing/assert-fails.js';
import { RATED_SCALE } from './money.js';

const codesWith = (minorUnits: number) =>
  listCurrencies()
    .filter((c) => c.minorUnits === minorUnits)
    .map((c) => c.code);

describe('currencies', () => {
  it('gives the ISO 4217 exponent of well-known currencies', () => {
    const expected: Record<string, number> = {
      EUR: 2,
      USD: 2,
      GBP: 2,
      CHF: 2,
      INR: 2,
      IDR: 2,
      HUF: 2,
      MGA: 2,
      XCG: 2,
      ZWG: 2,
      SLE: 2,
      VES: 2,
      VED: 2,
      JPY: 0,
      KRW: 0,
      CLP: 0,
      VND: 0,
      XAF: 0,
      XOF: 0,
      XPF: 0,
      ISK: 0,
      UGX: 0,
      BHD: 3,
      KWD: 3,
      OMR: 3,
      JOD: 3,
      IQD: 3,
      LYD: 3,
      TND: 3,
      CLF: 4,
      UYW: 4,
    };
    for (const [code, minorUnits] of Object.entries(expected)) {
      assert.deepEqual(getCurrency(code), { code, minorUnits }, code);
      assert.equal(isCurrency(code), true, code);
    }
  });

  it('lists exactly the zero-, three- and four-decimal currencies of ISO 4217', () => {
    // Changing any of these sets changes how amounts are read, so it must be a deliberate edit here too.
    // prettier-ignore
    assert.deepEqual(codesWith(0), [
      'BIF', 'CLP', 'DJF', 'GNF', 'ISK', 'JPY', 'KMF', 'KRW', 'PYG', 'RWF', 'UGX', 'UYI', 'VND', 'VUV', 'XAF',
      'XOF', 'XPF',
    ]);
    assert.deepEqual(codesWith(3), ['BHD', 'IQD', 'JOD', 'KWD', 'LYD', 'OMR', 'TND']);
    assert.deepEqual(codesWith(4), ['CLF', 'UYW']);
    assert.equal(codesWith(2).length, 141);
    assert.equal(listCurrencies().length, 17 + 141 + 7 + 2);
  });

  it('has well-formed, unique, sorted codes whose exponents fit the rated scale', () => {
    const codes = listCurrencies().map((c) => c.code);
    assert.equal(new Set(codes).size, codes.length);
    assert.deepEqual(codes, [...codes].sort());
    for (const currency of listCurrencies()) {
      assert.match(currency.code, /^[A-Z]{3}$/);
      assert.ok([0, 2, 3, 4].includes(currency.minorUnits), currency.code);
      // RatedAmount.fromMoney relies on this to be exact.
      assert.ok(currency.minorUnits <= RATED_SCALE, currency.code);
      assert.equal(Object.isFrozen(currency), true, currency.code);
    }
    assert.equal(Object.isFrozen(listCurrencies()), true);
  });

  it('leaves out codes without a minor unit and withdrawn codes', () => {
    const absent = [
      'XAU',
      'XAG',
      'XPT',
      'XPD',
      'XDR',
      'XSU',
      'XUA',
      'XBA',
      'XTS',
      'XXX',
      'HRK',
      'SLL',
      'ZWL',
      'VEF',
    ];
    for (const code of [
      ...absent,
      'MRO',
      'STD',
      'eur',
      'Eur',
      '',
      'EURO',
      'EU',
      '__proto__',
      'constructor',
    ]) {
      assert.equal(isCurrency(code), false, code);
      assertFails(() => getCurrency(code), 'money.unknown_currency', { mentions: [JSON.stringify(code)] });
    }
    assert.equal(isCurrency(undefined), false);
    assert.equal(isCurrency(978), false);
  });

  it('names the code and the field, and suggests the upper-case code', () => {
    const error = assertFails(
      () => getCurrency('eur', { field: '/body/currency' }),
      'money.unknown_currency',
      {
        field: '/body/currency',
        mentions: ['/body/currency', '"eur"', 'did you mean "EUR"'],
      },
    );
    assert.equal(error.kind, 'validation');
    assert.equal(error.httpStatus, 400);
    assert.deepEqual(error.extra, { currency: 'eur' });
    assertFails(() => getCurrency('ABC'), 'money.unknown_currency', {
      field: undefined,
      mentions: ['"ABC"', 'ISO 4217'],
    });
  });
});
