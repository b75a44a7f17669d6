import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ChainVerifier,
  GENESIS_HASH,
  auditRecordId,
  canonicalJson,
  computeHash,
  verifyChain,
  type AuditHead,
  type AuditRecord,
  type AuditRecordContent,
} from './chain.js';

const TENANT = 'ten_A';

function content(seq: bigint, overrides: Partial<AuditRecordContent> = {}): AuditRecordContent {
  return {
    id: auditRecordId(TENANT, seq),
    tenantId: TENANT,
    seq,
    occurredAt: '2026-01-01T00:00:00.000Z',
    actorType: 'api-key',
    actorId: 'key_1',
    action: 'tenant.updated',
    entityType: 'tenant',
    entityId: TENANT,
    before: { name: 'Old', n: 1 },
    after: { name: 'New', n: Number(seq) },
    requestId: 'req_1',
    ...overrides,
  };
}

/** Hashes contents into a chain, as the store does, and returns it with its head. */
function buildChain(contents: AuditRecordContent[]): { records: AuditRecord[]; head: AuditHead } {
  const records: AuditRecord[] = [];
  let prevHash = GENESIS_HASH;
  for (const c of contents) {
    const hash = computeHash(prevHash, c);
    records.push({ ...c, prevHash, hash });
    prevHash = hash;
  }
  const last = records.at(-1);
  return {
    records,
    head: { tenantId: TENANT, lastSeq: last?.seq ?? 0n, lastHash: last?.hash ?? GENESIS_HASH },
  };
}

function chainOf(length: number): { records: AuditRecord[]; head: AuditHead } {
  return buildChain(Array.from({ length }, (_, i) => content(BigInt(i + 1))));
}

function rehash(record: AuditRecord): AuditRecord {
  return { ...record, hash: computeHash(record.prevHash, record) };
}

/** The same value with every object's keys in reverse order, recursively. */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value !== null && typeof value === 'object') {
    // fromEntries defines own properties, so a `__proto__` key stays a key.
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
}

describe('canonical serialisation', () => {
  it('sorts keys recursively, writes bigints as decimal strings and has no whitespace', () => {
    assert.equal(
      canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2n }], c: 'x' }, n: 12345678901234567890n }),
      '{"a":{"c":"x","d":[3,{"y":"2","z":1}]},"b":1,"n":"12345678901234567890"}',
    );
  });

  it('drops what JSON drops, so a value hashes the same before and after storage', () => {
    const value = {
      keep: 1,
      gone: undefined,
      when: new Date('2026-01-01T00:00:00Z'),
      list: [undefined, NaN, -0],
    };
    const stored = JSON.parse(JSON.stringify(value)) as unknown;
    assert.equal(canonicalJson(value), canonicalJson(stored));
    assert.equal(canonicalJson(value), '{"keep":1,"list":[null,null,0],"when":"2026-01-01T00:00:00.000Z"}');
  });

  it('is independent of key order (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        assert.equal(canonicalJson(value), canonicalJson(reverseKeys(value)));
        assert.deepEqual(JSON.parse(canonicalJson(value)), JSON.parse(JSON.stringify(value)));
      }),
    );
  });
});

describe('computeHash', () => {
  it('matches the fixed test vector (changing it would invalidate every stored chain)', () => {
    const record = content(1n, { after: { name: 'New', n: 12345678901234567890n } });
    // Computed independently: sha256("0" * 64 + the canonical JSON below).
    assert.equal(
      canonicalJson({ ...record }),
      '{"action":"tenant.updated","actorId":"key_1","actorType":"api-key","after":{"n":"12345678901234567890","name":"New"},' +
        '"before":{"n":1,"name":"Old"},"entityId":"ten_A","entityType":"tenant","id":"ten_A:1",' +
        '"occurredAt":"2026-01-01T00:00:00.000Z","requestId":"req_1","seq":"1","tenantId":"ten_A"}',
    );
    assert.equal(
      computeHash(GENESIS_HASH, record),
      '83d02c8ceaf7ee99d0c6a14b0913b350d09ab713ebfdefbeb09ae94e52d2ee07',
    );
    assert.equal(GENESIS_HASH, '0'.repeat(64));
  });

  it('is deterministic regardless of key order', () => {
    const record = content(1n, { before: { z: { b: 2, a: 1 }, a: [1, { y: 1, x: 2 }] } });
    const reordered = reverseKeys(record) as AuditRecordContent;
    assert.deepEqual(Object.keys(reordered), Object.keys(record).reverse());
    assert.equal(computeHash(GENESIS_HASH, reordered), computeHash(GENESIS_HASH, record));
  });

  it('ignores the prevHash and hash fields of the record passed in', () => {
    const { records } = chainOf(1);
    const record = records[0]!;
    assert.equal(
      computeHash(GENESIS_HASH, { ...record, prevHash: 'x', hash: 'y' } as AuditRecord),
      record.hash,
    );
  });

  it('depends on the previous hash', () => {
    assert.notEqual(computeHash(GENESIS_HASH, content(1n)), computeHash('f'.repeat(64), content(1n)));
  });

  const changes: {
    [K in keyof AuditRecordContent]: (value: AuditRecordContent[K]) => AuditRecordContent[K];
  } = {
    id: (v) => `${v}x`,
    tenantId: (v) => `${v}x`,
    seq: (v) => v + 100n,
    occurredAt: () => '2026-01-01T00:00:00.001Z',
    actorType: () => 'token',
    actorId: (v) => `${v}x`,
    action: (v) => `${v}x`,
    entityType: (v) => `${v}x`,
    entityId: (v) => `${v}x`,
    before: () => ({ name: 'Old', n: 2 }),
    after: () => null,
    requestId: () => null,
  };
  for (const field of Object.keys(changes) as Array<keyof AuditRecordContent>) {
    it(`detects a change to ${field}`, () => {
      const { records, head } = chainOf(3);
      const original = records[1]!;
      const change = changes[field] as (value: unknown) => unknown;
      const edited = { ...original, [field]: change(original[field]) } as AuditRecord;
      assert.notEqual(computeHash(edited.prevHash, edited), original.hash);
      const problems = verifyChain([records[0]!, edited, records[2]!], head);
      assert.ok(
        problems.some((p) => p.kind === 'hash_mismatch' && p.seq === edited.seq),
        JSON.stringify(problems, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)),
      );
    });
  }
});

describe('verifyChain', () => {
  it('accepts an intact chain, an empty chain and a chain checked without its head', () => {
    const { records, head } = chainOf(5);
    assert.deepEqual(verifyChain(records, head), []);
    assert.deepEqual(verifyChain(records), []);
    assert.deepEqual(verifyChain([], null), []);
    assert.deepEqual(verifyChain([]), []);
  });

  it('reports an edited record as a hash mismatch, and only that', () => {
    const { records, head } = chainOf(4);
    const edited = { ...records[1]!, after: { name: 'Forged' } };
    const problems = verifyChain([records[0]!, edited, records[2]!, records[3]!], head);
    assert.equal(problems.length, 1);
    assert.deepEqual(
      { ...problems[0]!, message: undefined },
      {
        kind: 'hash_mismatch',
        seq: 2n,
        id: 'ten_A:2',
        storedHash: records[1]!.hash,
        computedHash: computeHash(edited.prevHash, edited),
        message: undefined,
      },
    );
  });

  it('reports an edited and rehashed record as a broken link at the next record', () => {
    const { records, head } = chainOf(4);
    const edited = rehash({ ...records[1]!, after: { name: 'Forged' } });
    const problems = verifyChain([records[0]!, edited, records[2]!, records[3]!], head);
    assert.deepEqual(
      problems.map((p) => [p.kind, 'seq' in p ? p.seq : undefined]),
      [['prev_hash_mismatch', 3n]],
    );
  });

  it('reports deleted records as a gap', () => {
    const { records, head } = chainOf(6);
    assert.deepEqual(
      verifyChain([records[0]!, records[3]!, records[4]!, records[5]!], head).map(
        (p) => p.kind === 'seq_gap' && [p.fromSeq, p.toSeq],
      ),
      [[2n, 3n]],
    );
    assert.deepEqual(
      verifyChain(records.slice(1), head).map((p) => p.kind === 'seq_gap' && [p.fromSeq, p.toSeq]),
      [[1n, 1n]],
    );
  });

  it('reports a deleted tail, a forged head and a missing head as a head mismatch', () => {
    const { records, head } = chainOf(3);
    const tail = verifyChain(records.slice(0, 2), head);
    assert.equal(tail.length, 1);
    assert.ok(tail[0]!.kind === 'head_mismatch' && tail[0]!.headSeq === 3n && tail[0]!.chainSeq === 2n);

    const forged = verifyChain(records, { ...head, lastHash: 'f'.repeat(64) });
    assert.ok(forged.length === 1 && forged[0]!.kind === 'head_mismatch' && forged[0]!.headSeq === 3n);

    const behind = verifyChain(records, { ...head, lastSeq: 2n, lastHash: records[1]!.hash });
    assert.ok(behind.length === 1 && behind[0]!.kind === 'head_mismatch' && behind[0]!.chainSeq === 3n);

    const missing = verifyChain(records, null);
    assert.ok(missing.length === 1 && missing[0]!.kind === 'head_mismatch' && missing[0]!.headSeq === null);

    const allGone = verifyChain([], head);
    assert.ok(allGone.length === 1 && allGone[0]!.kind === 'head_mismatch' && allGone[0]!.chainSeq === null);
  });

  it('reports records in the wrong order', () => {
    const { records, head } = chainOf(3);
    const problems = verifyChain([records[0]!, records[2]!, records[1]!], head);
    assert.ok(problems.some((p) => p.kind === 'seq_out_of_order' && p.seq === 2n));
  });

  it('keeps at most maxProblems problems but counts them all', () => {
    const { records, head } = chainOf(10);
    const verifier = new ChainVerifier({ maxProblems: 3 });
    for (const record of records) verifier.add({ ...record, action: 'forged' });
    const verdict = verifier.finish(head);
    assert.equal(verdict.ok, false);
    assert.equal(verdict.problems.length, 3);
    assert.equal(verdict.problemCount, 10);
    assert.equal(verdict.records, 10);
  });

  it('detects any single tampering with a random chain (property)', () => {
    const contentArb = fc.record({
      actorId: fc.string({ minLength: 1 }),
      action: fc.string({ minLength: 1 }),
      entityId: fc.string({ minLength: 1 }),
      before: fc.jsonValue(),
      after: fc.jsonValue(),
      requestId: fc.option(fc.string(), { nil: null }),
    });
    const tamperArb = fc.constantFrom('edit', 'edit_and_rehash', 'delete', 'truncate', 'swap', 'forge_head');
    fc.assert(
      fc.property(
        fc.array(contentArb, { minLength: 1, maxLength: 12 }),
        tamperArb,
        fc.nat(),
        (parts, tamper, pick) => {
          const { records, head } = buildChain(parts.map((p, i) => content(BigInt(i + 1), p)));
          assert.deepEqual(verifyChain(records, head), []);
          const i = pick % records.length;
          const target = records[i]!;
          // A value no generated before/after can equal, so the edit always changes the record.
          const edited = { ...target, after: { tampered: [target.after] } };
          let tampered: AuditRecord[];
          let tamperedHead = head;
          switch (tamper) {
            case 'edit':
              tampered = records.with(i, edited);
              break;
            case 'edit_and_rehash':
              tampered = records.with(i, rehash(edited));
              break;
            case 'delete':
              tampered = records.toSpliced(i, 1);
              break;
            case 'truncate':
              tampered = records.slice(0, i);
              break;
            case 'swap': {
              if (records.length < 2) return;
              const j = i === records.length - 1 ? i - 1 : i + 1;
              tampered = records.with(i, records[j]!).with(j, target);
              break;
            }
            case 'forge_head':
              tampered = records;
              // A head pointing at an earlier record, as if the chain ended there.
              tamperedHead = {
                ...head,
                lastSeq: BigInt(i),
                lastHash: i === 0 ? GENESIS_HASH : records[i - 1]!.hash,
              };
              break;
          }
          assert.notDeepEqual(verifyChain(tampered, tamperedHead), []);
        },
      ),
    );
  });
});
