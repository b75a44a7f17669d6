/**
 * Converting what the drivers return into our types, at the store's edge.
 * better-sqlite3 (safe-integer mode) returns every INTEGER as bigint; node-postgres and PGlite
 * return int8 as bigint (parsed in database.ts) but int4 as number. These helpers accept either
 * and refuse anything that would lose precision.
 */

export function toBigInt(value: unknown, column: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return BigInt(value);
  throw new TypeError(`column ${column}: expected an integer, got ${typeof value}`);
}

export function toSafeNumber(value: unknown, column: string): number {
  const big = toBigInt(value, column);
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new RangeError(`column ${column}: ${big} does not fit a JavaScript number`);
  }
  return Number(big);
}

export function toBool(value: unknown, column: string): boolean {
  if (value === true || value === false) return value;
  const n = toBigInt(value, column);
  if (n === 0n) return false;
  if (n === 1n) return true;
  throw new TypeError(`column ${column}: expected 0 or 1, got ${n}`);
}

export function fromBool(value: boolean): number {
  return value ? 1 : 0;
}

export function toJson<T>(value: unknown, column: string): T {
  if (typeof value !== 'string') throw new TypeError(`column ${column}: expected JSON text`);
  return JSON.parse(value, (_key, v: unknown) => v) as T;
}

/** JSON text for storage; bigints are written as decimal strings so nothing is rounded. */
export function fromJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

/** True when a driver error is a unique-constraint violation, on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; message?: string } | undefined;
  if (!e) return false;
  if (e.code === '23505') return true; // PostgreSQL unique_violation
  return (
    typeof e.code === 'string' && e.code.startsWith('SQLITE_CONSTRAINT_') && /UNIQUE|PRIMARYKEY/.test(e.code)
  );
}
