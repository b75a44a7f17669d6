/**
 * The fingerprint of a request, stored with its Idempotency-Key so that reusing a key for a
 * different request is caught. Body keys are sorted so that the same JSON sent with another key
 * order is the same request.
 */
import { createHash } from 'node:crypto';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

export function requestHash(method: string, path: string, body: unknown): string {
  return createHash('sha256')
    .update(`${method.toUpperCase()} ${path}\n`)
    .update(JSON.stringify(canonical(body ?? null)))
    .digest('hex');
}

/** Keys are opaque client strings: 1 to 255 visible ASCII characters (UUIDs are typical). */
export const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;
