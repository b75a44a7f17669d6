/**
 * Vouchers and the operator's balance corrections: their error codes, PINs and what a redemption
 * credits. No storage here; the voucher store keeps batches and vouchers, the workflow
 * (workflows/charging-admin.ts) ties them to the charging engine.
 *
 * PINs. A PIN is 16 decimal digits drawn with `crypto.randomInt` (a CSPRNG), so guessing one of a
 * batch of n vouchers takes about 10^16 / n tries. It is shown once, to the operator who generated
 * the batch, and stored only as HMAC-SHA-256 under a key derived from a server secret (the app's
 * TOLLGATE_TOKEN_SECRET), over the tenant id and the PIN. Why HMAC rather than scrypt: a redemption
 * must find the voucher from the PIN alone, so the hash must be deterministic and indexed; a
 * per-voucher salt (scrypt, argon2) would mean trying every voucher. The secret lives outside the
 * database, so a copy of the tables alone does not let anyone test PINs offline. Consequence: the
 * secret must not change while vouchers are unredeemed (a new secret makes old PINs unfindable).
 */
import { createHmac, randomInt } from 'node:crypto';
import { defineErrorCodes } from '../kernel/errors.js';
import { divideRounded } from '../kernel/decimal.js';

export const VoucherErrors = defineErrorCodes('voucher', {
  not_found: { kind: 'not_found', title: 'No voucher has this PIN' },
  already_redeemed: { kind: 'conflict', title: 'Voucher already redeemed' },
  expired: { kind: 'conflict', title: 'Voucher expired' },
  unit_mismatch: { kind: 'validation', title: 'Voucher and balance count different units' },
  invalid_batch: { kind: 'validation', title: 'Invalid voucher batch' },
});

/** The operator's balance operations (top-ups, adjustments) that are refused as values of their own. */
export const BalanceAdminErrors = defineErrorCodes('balance', {
  // The same payment reference was used for a different top-up (another balance or amount):
  // crediting it again would pay one payment twice.
  reference_reused: { kind: 'conflict', title: 'Payment reference already used for another top-up' },
  unit_mismatch: { kind: 'validation', title: 'Amount in the wrong unit for the balance' },
});

export type VoucherStatus = 'unused' | 'redeemed' | 'expired';

/** How much a voucher adds on top of its face value. */
export type VoucherBonus =
  | { readonly kind: 'none' }
  /** A percentage of the face value, rounded down to the balance's unit. */
  | { readonly kind: 'percent'; readonly percent: number }
  /** A fixed amount in the balance's unit (pico-units for money, base units for a bucket). */
  | { readonly kind: 'fixed'; readonly amount: bigint };

export const PIN_DIGITS = 16;

/** A fresh 16-digit PIN: two draws of 8 digits (randomInt's range is below 2^48, 10^16 is not). */
export function newPin(): string {
  const high = randomInt(0, 100_000_000);
  const low = randomInt(0, 100_000_000);
  return `${String(high).padStart(8, '0')}${String(low).padStart(8, '0')}`;
}

/** The PIN with spaces, dashes and dots removed, as people type it: "1234 5678-9012.3456". */
export function normalisePin(text: string): string {
  return text.replace(/[\s.-]/g, '');
}

export function isWellFormedPin(pin: string): boolean {
  return /^[0-9]{16}$/.test(pin);
}

/**
 * The stored form of a PIN: HMAC-SHA-256(key, tenantId ":" pin) in hex, where key is
 * HMAC-SHA-256(secret, "tollgate voucher pin v1"), so the token-signing secret itself never keys
 * anything but tokens. The tenant in the message makes the same PIN differ between tenants.
 */
export function pinHash(secret: string, tenantId: string, pin: string): string {
  const key = createHmac('sha256', secret).update('tollgate voucher pin v1').digest();
  return createHmac('sha256', key).update(`${tenantId}:${pin}`).digest('hex');
}

/**
 * The bonus of a voucher worth `value` (in the balance's unit). A percent bonus is rounded down
 * ('down', toward zero): 10 % of 15.00 EUR = 1 500 000 000 000 pico exactly; 10 % of 15 s is 1 s.
 */
export function bonusOf(value: bigint, bonus: VoucherBonus): bigint {
  switch (bonus.kind) {
    case 'none':
      return 0n;
    case 'percent':
      return divideRounded(value * BigInt(bonus.percent), 100n, 'down');
    case 'fixed':
      return bonus.amount;
  }
}
