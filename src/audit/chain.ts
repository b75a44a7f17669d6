/**
 * The audit chain: what an audit record is, how it is hashed and how a chain is checked. Pure code,
 * no I/O, so the rules that make tampering detectable can be read and tested in one place.
 *
 * Each tenant has its own chain. Record `seq` n (1, 2, 3, ...) stores `prevHash`, the hash of
 * record n-1 (the genesis hash, 64 zeros, for record 1), and its own `hash`:
 *
 *   hash = hex(SHA-256(utf8(prevHash) || utf8(canonicalJson(content))))
 *
 * where `content` is every stored field of the record except `prevHash` (already hashed in front)
 * and `hash` itself. Editing a record changes its hash; recomputing that hash breaks the next
 * record's `prevHash` link; deleting a record leaves a gap in `seq`; deleting the newest records
 * leaves the tenant's head (the last seq and hash, kept in its own row) pointing past the chain.
 *
 * Changing anything in this file's serialisation invalidates every stored chain: the fixed test
 * vector in chain.test.ts is there to make such a change impossible to miss.
 */
import { createHash } from 'node:crypto';
import type { Instant } from '../kernel/clock.js';

/** The `prevHash` of every tenant's first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** One audit record as stored and as listed. */
export interface AuditRecord {
  /**
   * `${tenantId}:${seq}`. Derived rather than drawn at random because the seq already names the
   * record uniquely within its tenant, and a derived id lets a reader go from an id straight to
   * the record's place in the chain.
   */
  readonly id: string;
  readonly tenantId: string;
  /** The record's position in its tenant's chain, from 1, without gaps. */
  readonly seq: bigint;
  readonly occurredAt: Instant;
  /** Who acted: `api-key`, `token`, `system` or `cli`, and the key, subject or job id. */
  readonly actorType: string;
  readonly actorId: string;
  /** What happened, `entity.verb`, e.g. `api_key.created`. */
  readonly action: string;
  readonly entityType: string;
  readonly entityId: string;
  /**
   * The entity before and after the change, as JSON values (null when there is none). Bigints
   * handed in are stored, hashed and returned as decimal strings, so nothing is rounded.
   */
  readonly before: unknown;
  readonly after: unknown;
  readonly requestId: string | null;
  readonly prevHash: string;
  readonly hash: string;
}

/** The hashed part of a record: every field but `prevHash` (hashed in front) and `hash`. */
export type AuditRecordContent = Omit<AuditRecord, 'prevHash' | 'hash'>;

/** A tenant's head: the seq and hash of its newest record, kept apart so a deleted tail shows. */
export interface AuditHead {
  readonly tenantId: string;
  readonly lastSeq: bigint;
  readonly lastHash: string;
}

export function auditRecordId(tenantId: string, seq: bigint): string {
  return `${tenantId}:${seq}`;
}

/**
 * Deterministic JSON: object keys sorted recursively (by UTF-16 code units, as RFC 8785 does),
 * no whitespace, bigints written as JSON strings of their decimal digits. Everything else follows
 * JSON.stringify: `toJSON` is honoured, undefined, functions and symbols are dropped from objects
 * and become null in arrays, non-finite numbers become null. Those rules match what survives a
 * round trip through the stored JSON text, so a record hashes the same before and after storage.
 */
export function canonicalJson(value: unknown): string {
  return serialise(value, true) ?? 'null';
}

function serialise(value: unknown, inArray: boolean): string | undefined {
  if (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
  ) {
    return serialise((value as { toJSON: () => unknown }).toJSON(), inArray);
  }
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'undefined':
    case 'function':
    case 'symbol':
      return inArray ? 'null' : undefined;
    default:
      break;
  }
  if (value === null) return 'null';
  if (Array.isArray(value)) return `[${value.map((item: unknown) => serialise(item, true)).join(',')}]`;
  // Boxed primitives serialise as the primitive, as JSON.stringify does.
  if (value instanceof Number || value instanceof String || value instanceof Boolean) {
    return serialise(value.valueOf(), inArray);
  }
  const object = value as Record<string, unknown>;
  const members: string[] = [];
  for (const key of Object.keys(object).sort()) {
    const member = serialise(object[key], false);
    if (member !== undefined) members.push(`${JSON.stringify(key)}:${member}`);
  }
  return `{${members.join(',')}}`;
}

/**
 * The hash of a record given the hash of the one before it. Only the content fields are read
 * (picked by name), so passing a whole stored record is fine: its own `prevHash` and `hash` are
 * ignored.
 */
export function computeHash(prevHash: string, record: AuditRecordContent): string {
  const content = {
    id: record.id,
    tenantId: record.tenantId,
    seq: record.seq,
    occurredAt: record.occurredAt,
    actorType: record.actorType,
    actorId: record.actorId,
    action: record.action,
    entityType: record.entityType,
    entityId: record.entityId,
    before: record.before,
    after: record.after,
    requestId: record.requestId,
  };
  return createHash('sha256').update(prevHash, 'utf8').update(canonicalJson(content), 'utf8').digest('hex');
}

/** One thing wrong with a chain. `message` is a sentence for people; the rest is for programs. */
export type ChainProblem =
  | {
      /** Records with these seqs are missing: deleted, or never committed by a forged head. */
      readonly kind: 'seq_gap';
      readonly fromSeq: bigint;
      readonly toSeq: bigint;
      readonly message: string;
    }
  | {
      /** A record's seq is not after the one before it (only possible if rows were rewritten). */
      readonly kind: 'seq_out_of_order';
      readonly seq: bigint;
      readonly previousSeq: bigint;
      readonly message: string;
    }
  | {
      /** The record's content no longer matches its stored hash: it was edited. */
      readonly kind: 'hash_mismatch';
      readonly seq: bigint;
      readonly id: string;
      readonly storedHash: string;
      readonly computedHash: string;
      readonly message: string;
    }
  | {
      /** The record does not point at the record before it: that one was edited and rehashed. */
      readonly kind: 'prev_hash_mismatch';
      readonly seq: bigint;
      readonly id: string;
      readonly storedPrevHash: string;
      readonly expectedPrevHash: string;
      readonly message: string;
    }
  | {
      /** The record cannot be read back (its stored JSON does not parse): it was edited. */
      readonly kind: 'malformed_record';
      readonly seq: bigint;
      readonly id: string;
      readonly message: string;
    }
  | {
      /**
       * The head does not name the last record: the newest records were deleted, the head was
       * forged, or the head row is missing (null head fields) while records exist.
       */
      readonly kind: 'head_mismatch';
      readonly headSeq: bigint | null;
      readonly headHash: string | null;
      readonly chainSeq: bigint | null;
      readonly chainHash: string | null;
      readonly message: string;
    };

export interface ChainVerifierOptions {
  /** Keeps at most this many problems (the count stays exact), so a ruined chain cannot fill memory. */
  readonly maxProblems?: number;
}

export interface ChainVerdict {
  readonly records: number;
  readonly ok: boolean;
  /** The first `maxProblems` problems, in chain order, the head's last. */
  readonly problems: ChainProblem[];
  /** How many problems there were in all; larger than `problems.length` when some were dropped. */
  readonly problemCount: number;
}

/**
 * Checks one tenant's chain a record at a time, so a caller can stream a chain of any length
 * through it: `add` each record in seq order, then `finish` with the stored head.
 */
export class ChainVerifier {
  private readonly maxProblems: number;
  private readonly problems: ChainProblem[] = [];
  private problemCount = 0;
  private count = 0;
  private lastSeq: bigint | undefined;
  private lastHash: string | undefined;
  private finished = false;

  constructor(options: ChainVerifierOptions = {}) {
    this.maxProblems = options.maxProblems ?? 1000;
  }

  /** The seq of the last record added (0 before any), for callers paging through a chain. */
  get lastSeqSeen(): bigint {
    return this.lastSeq ?? 0n;
  }

  get recordsSeen(): number {
    return this.count;
  }

  add(record: AuditRecord): void {
    const linkable = this.checkPosition(record.seq);
    const computed = computeHash(record.prevHash, record);
    if (computed !== record.hash) {
      this.report({
        kind: 'hash_mismatch',
        seq: record.seq,
        id: record.id,
        storedHash: record.hash,
        computedHash: computed,
        message: `record ${record.seq} does not match its hash: it was changed after it was written`,
      });
    }
    // After a gap the record before this one is missing, so its link cannot be checked; the gap
    // is already reported and a second problem for the same deletion would only mislead.
    if (linkable) {
      const expected = this.lastHash ?? GENESIS_HASH;
      if (record.prevHash !== expected) {
        this.report({
          kind: 'prev_hash_mismatch',
          seq: record.seq,
          id: record.id,
          storedPrevHash: record.prevHash,
          expectedPrevHash: expected,
          message:
            this.lastSeq === undefined
              ? `record ${record.seq} does not start from the genesis hash`
              : `record ${record.seq} does not link to record ${this.lastSeq}: record ${this.lastSeq} was changed and rehashed`,
        });
      }
    }
    this.advance(record.seq, record.hash);
  }

  /**
   * A record whose stored form cannot be read. It is reported, and the chain carries on from its
   * stored hash so the records after it are still checked against it.
   */
  addMalformed(record: { seq: bigint; id: string; hash: string }, detail: string): void {
    this.checkPosition(record.seq);
    this.report({
      kind: 'malformed_record',
      seq: record.seq,
      id: record.id,
      message: `record ${record.seq} cannot be read (${detail}): it was changed after it was written`,
    });
    this.advance(record.seq, record.hash);
  }

  /**
   * Compares the stored head with the last record and returns the verdict. `head` null means the
   * tenant has no head row; undefined skips the head check (for a chain excerpt with no head).
   */
  finish(head?: AuditHead | null): ChainVerdict {
    if (this.finished) throw new Error('ChainVerifier.finish called twice');
    this.finished = true;
    const chainSeq = this.lastSeq ?? null;
    const chainHash = this.lastHash ?? null;
    if (head === undefined) {
      // The caller has no head to compare with.
    } else if (head === null) {
      if (chainSeq !== null) {
        this.report({
          kind: 'head_mismatch',
          headSeq: null,
          headHash: null,
          chainSeq,
          chainHash,
          message: `the chain has records up to ${chainSeq} but no head: the head was deleted`,
        });
      }
    } else if (head.lastSeq !== (chainSeq ?? 0n) || head.lastHash !== (chainHash ?? GENESIS_HASH)) {
      const last = chainSeq ?? 0n;
      this.report({
        kind: 'head_mismatch',
        headSeq: head.lastSeq,
        headHash: head.lastHash,
        chainSeq,
        chainHash,
        message:
          head.lastSeq > last
            ? `the head names record ${head.lastSeq} but the chain ends at ${last}: the newest records were deleted or the head forged`
            : head.lastSeq < last
              ? `the head names record ${head.lastSeq} but the chain goes on to ${last}: records were added by hand or the head forged`
              : `the head's hash does not match record ${last}: the head was forged or the record rehashed`,
      });
    }
    return {
      records: this.count,
      ok: this.problemCount === 0,
      problems: [...this.problems],
      problemCount: this.problemCount,
    };
  }

  /** Reports gaps and disorder; returns whether the record follows its predecessor directly. */
  private checkPosition(seq: bigint): boolean {
    if (this.finished) throw new Error('ChainVerifier used after finish');
    const expected = (this.lastSeq ?? 0n) + 1n;
    if (seq === expected) return true;
    if (seq > expected) {
      const toSeq = seq - 1n;
      this.report({
        kind: 'seq_gap',
        fromSeq: expected,
        toSeq,
        message:
          expected === toSeq
            ? `record ${expected} is missing: it was deleted`
            : `records ${expected} to ${toSeq} are missing: they were deleted`,
      });
    } else {
      this.report({
        kind: 'seq_out_of_order',
        seq,
        previousSeq: this.lastSeq ?? 0n,
        message: `record ${seq} comes after record ${this.lastSeq ?? 0n}: the chain was reordered`,
      });
    }
    return false;
  }

  private advance(seq: bigint, hash: string): void {
    this.count += 1;
    if (this.lastSeq === undefined || seq > this.lastSeq) this.lastSeq = seq;
    this.lastHash = hash;
  }

  private report(problem: ChainProblem): void {
    this.problemCount += 1;
    if (this.problems.length < this.maxProblems) this.problems.push(problem);
  }
}

/**
 * Checks a whole chain held in memory: `records` in seq order, `head` the tenant's stored head,
 * null when it has none (pass it to also detect a deleted tail; omit it to check the records
 * alone, e.g. an exported excerpt). Returns the problems found, none when the chain is intact.
 */
export function verifyChain(records: Iterable<AuditRecord>, head?: AuditHead | null): ChainProblem[] {
  const verifier = new ChainVerifier({ maxProblems: Number.MAX_SAFE_INTEGER });
  for (const record of records) verifier.add(record);
  return verifier.finish(head).problems;
}
