/**
 * Webhook signatures (pure).
 *
 * Every delivery carries `Tollgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` where the
 * HMAC is computed with the subscription's secret over `<t>.<raw body>`. Signing the timestamp
 * with the body lets a receiver refuse replays older than a tolerance window, and naming the
 * scheme (`v1`) lets a later scheme be added beside it without breaking existing receivers.
 * A receiver must verify against the raw bytes it received, before parsing the JSON, because
 * re-serialising parsed JSON need not reproduce the same bytes.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'Tollgate-Signature';
export const EVENT_ID_HEADER = 'Tollgate-Event-Id';
export const EVENT_TYPE_HEADER = 'Tollgate-Event-Type';
export const DELIVERY_ID_HEADER = 'Tollgate-Delivery-Id';

/** How far a signature's timestamp may be from the receiver's clock, by default: five minutes. */
export const DEFAULT_TOLERANCE_SEC = 300;

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/** The hex HMAC-SHA256 of `<timestampSec>.<body>` with `secret`. */
export function computeSignature(timestampSec: number, body: string | Uint8Array, secret: string): string {
  const hmac = createHmac('sha256', secret);
  hmac.update(`${timestampSec}.`);
  hmac.update(body);
  return hmac.digest('hex');
}

/** The value of the Tollgate-Signature header for `body` signed at `timestampSec`. */
export function signPayload(body: string | Uint8Array, secret: string, timestampSec: number): string {
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) {
    throw new RangeError('the signature timestamp must be a non-negative whole number of seconds');
  }
  return `t=${timestampSec},v1=${computeSignature(timestampSec, body, secret)}`;
}

export interface SignatureParts {
  readonly timestampSec: number;
  /** Every v1 signature in the header; a sender may list several while it rotates secrets. */
  readonly signatures: readonly string[];
}

/** Splits a Tollgate-Signature header; undefined when it is malformed. Unknown schemes are ignored. */
export function parseSignatureHeader(header: string): SignatureParts | undefined {
  let timestampSec: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) return undefined;
    const key = part.slice(0, at).trim();
    const value = part.slice(at + 1).trim();
    if (key === 't') {
      if (timestampSec !== undefined || !/^\d{1,15}$/.test(value)) return undefined;
      timestampSec = Number(value);
    } else if (key === 'v1') {
      signatures.push(value.toLowerCase());
    }
  }
  if (timestampSec === undefined || signatures.length === 0) return undefined;
  return { timestampSec, signatures };
}

/**
 * True when `header` carries a valid v1 signature of `body` with `secret`, made within
 * `toleranceSec` of `nowSec`. The comparison runs in constant time, so a forger learns nothing
 * from how long a rejection takes.
 */
export function verifySignature(
  header: string | undefined,
  body: string | Uint8Array,
  secret: string,
  nowSec: number,
  toleranceSec: number = DEFAULT_TOLERANCE_SEC,
): boolean {
  if (header === undefined) return false;
  const parts = parseSignatureHeader(header);
  if (!parts) return false;
  if (Math.abs(nowSec - parts.timestampSec) > toleranceSec) return false;
  const expected = Buffer.from(computeSignature(parts.timestampSec, body, secret), 'hex');
  let matched = false;
  for (const candidate of parts.signatures) {
    if (!HEX_SHA256.test(candidate)) continue;
    // Every candidate is compared, even after a match, so timing does not reveal which one matched.
    if (timingSafeEqual(expected, Buffer.from(candidate, 'hex'))) matched = true;
  }
  return matched;
}

export interface WebhookHeaderInput {
  readonly eventId: string;
  readonly eventType: string;
  readonly deliveryId: string;
  readonly body: string;
  readonly secret: string;
  readonly timestampSec: number;
}

/** All the headers of one delivery request, signature included. */
export function webhookHeaders(input: WebhookHeaderInput): Record<string, string> {
  return {
    'content-type': 'application/json',
    [SIGNATURE_HEADER]: signPayload(input.body, input.secret, input.timestampSec),
    [EVENT_ID_HEADER]: input.eventId,
    [EVENT_TYPE_HEADER]: input.eventType,
    [DELIVERY_ID_HEADER]: input.deliveryId,
  };
}
