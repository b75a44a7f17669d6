/**
 * Deduplication keys: a 64-bit hash of each record's key, kept in an in-memory open-addressing set
 * per (source, event day) and stored as packed chunks, so duplicates are found across files and
 * restarts without a unique index on a random key (see migrations.ts for why that index would
 * cost most of the load rate).
 *
 * The key of a record is, by the source's dedup mode:
 * - 'record-id': the network's own record id (`sourceRecordId`); records without one are not
 *   deduplicated by id and fall back to the fingerprint;
 * - 'fingerprint': the listed fields of the normalised record (identity, service, start, duration,
 *   volumes, called number, count by default), so two files holding the same call are caught even
 *   when the switch gives no record id.
 *
 * The hash. Two independent 32-bit multiply-rotate hashes (Murmur3-style mixing with different
 * seeds) over the key's UTF-16 code units give 64 bits. With n keys stored for one source and day,
 * the chance that a new, distinct key collides with one of them is n / 2^64: for 10^8 records a
 * day that is 5 × 10^-12 per record. A collision would mark a record as a duplicate; duplicates are
 * stored with their raw record (usage_rejects, kind 'duplicate') and can be reprocessed, so even
 * then nothing is lost.
 */

/** A 64-bit key hash as two unsigned 32-bit halves. */
export interface KeyHash {
  hi: number;
  lo: number;
}

/** Hashes `key` into `out` (reused on the hot path). */
export function hashKey(key: string, out: KeyHash): KeyHash {
  let h1 = 0x9747b28c;
  let h2 = 0x85ebca6b ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    let k1 = Math.imul(c, 0xcc9e2d51);
    k1 = (k1 << 15) | (k1 >>> 17);
    k1 = Math.imul(k1, 0x1b873593);
    h1 ^= k1;
    h1 = (h1 << 13) | (h1 >>> 19);
    h1 = (Math.imul(h1, 5) + 0xe6546b64) | 0;
    let k2 = Math.imul(c ^ 0x5bd1e995, 0x27d4eb2d);
    k2 = (k2 << 16) | (k2 >>> 16);
    h2 = Math.imul(h2 ^ k2, 0x165667b1);
    h2 = (h2 << 11) | (h2 >>> 21);
    h2 = (h2 + 0x27d4eb2f) | 0;
  }
  out.hi = fmix(h1 ^ key.length) >>> 0;
  out.lo = fmix(h2) >>> 0;
  // (0, 0) marks an empty slot of the set; move the one hash that would collide with it.
  if (out.hi === 0 && out.lo === 0) out.lo = 1;
  return out;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}

/**
 * A set of 64-bit hashes: open addressing with linear probing over one Uint32Array of (hi, lo)
 * pairs, kept at most half full, so a lookup reads one or two cache lines. Never shrinks.
 */
export class KeyHashSet {
  private slots: Uint32Array;
  private mask: number;
  private count = 0;

  constructor(expected = 1024) {
    let capacity = 16;
    while (capacity < expected * 2) capacity *= 2;
    this.slots = new Uint32Array(capacity * 2);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  has(hash: KeyHash): boolean {
    const slots = this.slots;
    let i = hash.lo & this.mask;
    for (;;) {
      const hi = slots[i * 2] as number;
      const lo = slots[i * 2 + 1] as number;
      if (hi === 0 && lo === 0) return false;
      if (hi === hash.hi && lo === hash.lo) return true;
      i = (i + 1) & this.mask;
    }
  }

  /** Adds the hash; returns false when it was already there. */
  add(hash: KeyHash): boolean {
    return this.addPair(hash.hi, hash.lo);
  }

  addPair(hiIn: number, loIn: number): boolean {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    const slots = this.slots;
    let i = loIn & this.mask;
    for (;;) {
      const hi = slots[i * 2] as number;
      const lo = slots[i * 2 + 1] as number;
      if (hi === 0 && lo === 0) {
        slots[i * 2] = hiIn;
        slots[i * 2 + 1] = loIn;
        this.count++;
        return true;
      }
      if (hi === hiIn && lo === loIn) return false;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = (this.mask + 1) * 2 - 1;
    this.count = 0;
    for (let i = 0; i < old.length; i += 2) {
      const hi = old[i] as number;
      const lo = old[i + 1] as number;
      if (hi !== 0 || lo !== 0) this.addPair(hi, lo);
    }
  }
}

/** Packs hashes (hi, lo pairs) as base64 text for storage: 8 bytes a key, little-endian halves. */
export function packKeyHashes(pairs: Uint32Array): string {
  const bytes = Buffer.alloc(pairs.length * 4);
  for (let i = 0; i < pairs.length; i++) bytes.writeUInt32LE(pairs[i] as number, i * 4);
  return bytes.toString('base64');
}

/** Reads a packed chunk into `set`; throws when the text is not a whole number of keys. */
export function unpackKeyHashesInto(packed: string, set: KeyHashSet): number {
  const bytes = Buffer.from(packed, 'base64');
  if (bytes.length % 8 !== 0)
    throw new RangeError(`a dedup chunk of ${bytes.length} bytes is not whole keys`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < bytes.length; i += 8) {
    set.addPair(view.getUint32(i, true), view.getUint32(i + 4, true));
  }
  return bytes.length / 8;
}
