/**
 * The tariff core's closed set of error codes. Every expected failure of validating, compiling or
 * charging against a tariff, and of reading a rate deck, is one of these.
 */
import { defineErrorCodes } from '../../kernel/errors.js';

export const TariffErrors = defineErrorCodes('tariff', {
  /** The definition breaks a rule; the error's `errors` list has every problem with its JSON pointer. */
  invalid_tariff: { kind: 'validation', title: 'Invalid tariff' },
  /** A usage record cannot be charged as given (non-digit number, negative duration, unknown currency). */
  invalid_usage: { kind: 'validation', title: 'Invalid usage record' },
  /** The called number matches no prefix of the tariff's voice prefix table. */
  no_route: { kind: 'validation', title: 'No destination for number' },
  /** The tariff has no price for this service, zone, currency or visited network. */
  no_rate: { kind: 'validation', title: 'No rate' },
  /** A rate deck cannot be read at all (no header, a required column missing). */
  invalid_rate_deck: { kind: 'validation', title: 'Invalid rate deck' },
});
