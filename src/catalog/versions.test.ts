import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isTollgateError } from '../kernel/errors.js';
import {
  checkVersionSet,
  historyProblems,
  pricingSegments,
  resolveImplicitEnds,
  versionAt,
  versionSetProblems,
  type VersionRange,
} from './versions.js';

const BASE = Date.parse('2026-01-01T00:00:00.000Z');
const at = (minutes: number) => new Date(BASE + minutes * 60_000).toISOString();

interface Labelled extends VersionRange {
  readonly label: number;
}

/** Contiguous sets: strictly increasing boundaries, the last version open-ended or not, shuffled. */
const contiguousSet = fc
  .tuple(
    fc.uniqueArray(fc.integer({ min: 0, max: 100_000 }), { minLength: 2, maxLength: 12 }),
    fc.boolean(),
    fc.integer({ min: 0, max: 1000 }),
  )
  .map(([points, openEnded, seed]) => {
    const sorted = [...points].sort((a, b) => a - b);
    const versions: Labelled[] = [];
    for (let i = 0; i + 1 < sorted.length; i++) {
      const last = i + 2 === sorted.length;
      versions.push({
        label: i,
        effectiveFrom: at(sorted[i]!),
        ...(last && openEnded ? {} : { effectiveTo: at(sorted[i + 1]!) }),
      });
    }
    // A deterministic shuffle: the check must not depend on the order versions are given in.
    const shuffled = versions.map((v, i) => ({ v, k: (i * 7919 + seed) % 1013 })).sort((a, b) => a.k - b.k);
    return { versions: shuffled.map((x) => x.v), sorted, openEnded };
  });

describe('version sets', () => {
  it('accepts any contiguous set, and versionAt returns the version whose range holds the instant', () => {
    fc.assert(
      fc.property(
        contiguousSet,
        fc.integer({ min: -10, max: 100_010 }),
        ({ versions, sorted, openEnded }, probe) => {
          const checked = checkVersionSet(versions, 'tariff T');
          assert.deepEqual(
            checked.map((v) => v.label),
            [...versions].map((v) => v.label).sort((a, b) => a - b),
          );
          const found = versionAt(versions, at(probe));
          const first = sorted[0]!;
          const last = sorted[sorted.length - 1]!;
          if (probe < first || (!openEnded && probe >= last)) {
            assert.equal(found, undefined);
          } else {
            // The expected version: the last boundary at or before the probe.
            let index = 0;
            while (index + 1 < sorted.length - 1 && sorted[index + 1]! <= probe) index++;
            assert.equal(found?.label, index);
            assert.ok(found!.effectiveFrom <= at(probe));
            assert.ok(found!.effectiveTo === undefined || at(probe) < found!.effectiveTo);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('refuses any overlap, naming both versions', () => {
    fc.assert(
      fc.property(
        contiguousSet.filter(({ versions }) => versions.length >= 2),
        fc.integer({ min: 1, max: 500 }),
        fc.nat(),
        ({ versions }, stretch, pick) => {
          const ordered = [...versions].sort((a, b) => (a.effectiveFrom < b.effectiveFrom ? -1 : 1));
          const i = pick % (ordered.length - 1);
          const victim = ordered[i]!;
          // Push the end of version i past the start of version i + 1 (or make it open-ended).
          const next = ordered[i + 1]!;
          const moved: Labelled =
            stretch % 5 === 0
              ? { label: victim.label, effectiveFrom: victim.effectiveFrom }
              : { ...victim, effectiveTo: at((Date.parse(next.effectiveFrom) - BASE) / 60_000 + stretch) };
          const broken = ordered.map((v) => (v === victim ? moved : v));
          const problems = versionSetProblems(broken, (v) => `version #${v.label}`);
          assert.ok(problems.some((p) => p.kind === 'overlap'));
          const overlap = problems.find((p) => p.kind === 'overlap')!;
          assert.match(overlap.message, new RegExp(`version #${victim.label}\\b`));
          assert.match(overlap.message, /overlaps version #\d+/);
          assert.throws(
            () => checkVersionSet(broken, 'offer X', (v) => `version #${v.label}`),
            (error: unknown) =>
              isTollgateError(error) &&
              error.code === 'catalog.version_overlap' &&
              /offer X/.test(error.message),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses any gap, naming both versions and the uncovered stretch', () => {
    fc.assert(
      fc.property(
        contiguousSet.filter(({ versions }) => versions.length >= 2),
        fc.nat(),
        ({ versions }, pick) => {
          const ordered = [...versions].sort((a, b) => (a.effectiveFrom < b.effectiveFrom ? -1 : 1));
          const i = pick % (ordered.length - 1);
          const victim = ordered[i]!;
          const start = (Date.parse(victim.effectiveFrom) - BASE) / 60_000;
          const end = (Date.parse(victim.effectiveTo!) - BASE) / 60_000;
          if (end - start < 2) return; // no room to end earlier and still be a valid range
          const shortened = { ...victim, effectiveTo: at(end - 1) };
          const broken = ordered.map((v) => (v === victim ? shortened : v));
          assert.throws(
            () => checkVersionSet(broken, 'tariff T', (v) => `version #${v.label}`),
            (error: unknown) =>
              isTollgateError(error) &&
              error.code === 'catalog.version_gap' &&
              error.message.includes(`version #${victim.label}`) &&
              error.message.includes(`no version is in force from ${at(end - 1)}`),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a version that ends before it starts and instants that are not instants', () => {
    const problems = versionSetProblems([
      { effectiveFrom: at(10), effectiveTo: at(5) },
      { effectiveFrom: 'next tuesday' },
    ]);
    assert.deepEqual(
      problems.map((p) => p.kind),
      ['invalid_range', 'invalid_range'],
    );
  });

  it('fills implicit ends with the next start, keeping explicit ones', () => {
    const resolved = resolveImplicitEnds([
      { effectiveFrom: at(100) },
      { effectiveFrom: at(0) },
      { effectiveFrom: at(50), effectiveTo: at(60) },
    ]);
    assert.deepEqual(resolved, [
      { effectiveFrom: at(100) },
      { effectiveFrom: at(0), effectiveTo: at(50) },
      { effectiveFrom: at(50), effectiveTo: at(60) },
    ]);
    assert.equal(versionSetProblems(resolved)[0]?.kind, 'gap');
  });

  it('refuses to rewrite what was in force before now', () => {
    const before = [
      { id: 'v1', effectiveFrom: at(0), effectiveTo: at(100) },
      { id: 'v2', effectiveFrom: at(100) },
    ];
    const describe = (v: { id: string }) => v.id;
    const key = (v: { id: string }) => v.id;
    // Closing the open version in the future is fine; adding a later one too.
    assert.deepEqual(
      historyProblems(
        before,
        [before[0]!, { ...before[1]!, effectiveTo: at(300) }, { id: 'v3', effectiveFrom: at(300) }],
        at(200),
        key,
        describe,
      ),
      [],
    );
    // Closing it in the past, moving a past start, removing a started version: refused.
    assert.equal(
      historyProblems(before, [before[0]!, { ...before[1]!, effectiveTo: at(150) }], at(200), key, describe)
        .length,
      1,
    );
    assert.equal(
      historyProblems(before, [{ ...before[0]!, effectiveFrom: at(10) }, before[1]!], at(200), key, describe)
        .length,
      1,
    );
    assert.equal(historyProblems(before, [before[1]!], at(200), key, describe).length, 1);
  });

  it('moves subscribers to a new version per its price change policy', () => {
    const a = {
      name: 'A',
      effectiveFrom: '2026-01-01T00:00:00.000Z',
      effectiveTo: '2026-07-01T00:00:00.000Z',
    };
    const next = { name: 'B', effectiveFrom: '2026-07-01T00:00:00.000Z', priceChangePolicy: 'next-period' };
    const now = { ...next, priceChangePolicy: 'immediate-prorated' };
    const names = (segments: Array<{ version: { name: string }; from: string; to: string }>) =>
      segments.map((s) => `${s.version.name} ${s.from.slice(5, 10)}..${s.to.slice(5, 10)}`);
    const [from, to] = ['2026-06-15T00:00:00.000Z', '2026-07-15T00:00:00.000Z'];
    assert.deepEqual(names(pricingSegments([a, next], from, to)), ['A 06-15..07-15']);
    assert.deepEqual(names(pricingSegments([a, now], from, to)), ['A 06-15..07-01', 'B 07-01..07-15']);
    // The next period starts under B whatever the policy.
    assert.deepEqual(names(pricingSegments([a, next], to, '2026-08-15T00:00:00.000Z')), ['B 07-15..08-15']);
    // Before the first version there is nothing to keep: the first version takes over at its start.
    assert.deepEqual(names(pricingSegments([a], '2025-12-15T00:00:00.000Z', '2026-01-15T00:00:00.000Z')), [
      'A 01-01..01-15',
    ]);
  });
});
