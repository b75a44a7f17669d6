/**
 * Version sets (pure): the versions of one offer or one tariff, each in force over a half-open
 * range [effectiveFrom, effectiveTo) — from inclusive, to exclusive, or open-ended when `to` is
 * absent. A valid set covers one unbroken stretch of time: sorted by start, each version ends
 * exactly where the next begins and only the last may be open-ended. Overlaps (two versions in
 * force at one instant) and gaps (no version in force between two versions) are refused, naming
 * both versions, because rating must find exactly one price for any event at any moment.
 *
 * Instants are the stored form (`2026-11-25T18:30:00.000Z`, fixed width, UTC), so comparing them
 * as text compares them in time.
 */
import type { Instant } from '../kernel/clock.js';
import { isInstant } from '../kernel/clock.js';
import { fail, type ErrorCodeDefinition } from '../kernel/errors.js';
import { CatalogErrors } from './errors.js';

export interface VersionRange {
  readonly effectiveFrom: Instant;
  readonly effectiveTo?: Instant | undefined;
}

export type VersionProblemKind = 'invalid_range' | 'overlap' | 'gap';

export interface VersionProblem {
  readonly kind: VersionProblemKind;
  /** Positions in the list as given (not sorted) of the version(s) at fault. */
  readonly indexes: readonly number[];
  readonly message: string;
}

/** How a version is named in messages: "version 2 [2026-01-01T00:00:00.000Z, open)". */
export type Describe<T> = (version: T, index: number) => string;

export function describeRange(range: VersionRange): string {
  return `[${range.effectiveFrom}, ${range.effectiveTo ?? 'open'})`;
}

const defaultDescribe: Describe<VersionRange> = (version, index) =>
  `version ${index + 1} ${describeRange(version)}`;

/** Every problem of a version set, or none. Does not throw. */
export function versionSetProblems<T extends VersionRange>(
  versions: readonly T[],
  describe: Describe<T> = defaultDescribe,
): VersionProblem[] {
  const problems: VersionProblem[] = [];
  const valid: Array<{ version: T; index: number }> = [];
  versions.forEach((version, index) => {
    if (!isInstant(version.effectiveFrom)) {
      problems.push({
        kind: 'invalid_range',
        indexes: [index],
        message: `${describe(version, index)}: effectiveFrom ${JSON.stringify(version.effectiveFrom)} is not an instant like 2026-01-01T00:00:00.000Z`,
      });
      return;
    }
    if (version.effectiveTo !== undefined) {
      if (!isInstant(version.effectiveTo)) {
        problems.push({
          kind: 'invalid_range',
          indexes: [index],
          message: `${describe(version, index)}: effectiveTo ${JSON.stringify(version.effectiveTo)} is not an instant like 2026-01-01T00:00:00.000Z`,
        });
        return;
      }
      if (version.effectiveTo <= version.effectiveFrom) {
        problems.push({
          kind: 'invalid_range',
          indexes: [index],
          message: `${describe(version, index)} ends before it starts: effectiveTo must be after effectiveFrom`,
        });
        return;
      }
    }
    valid.push({ version, index });
  });
  valid.sort((a, b) => compareText(a.version.effectiveFrom, b.version.effectiveFrom) || a.index - b.index);
  for (let i = 1; i < valid.length; i++) {
    const before = valid[i - 1]!;
    const after = valid[i]!;
    const end = before.version.effectiveTo;
    const first = describe(before.version, before.index);
    const second = describe(after.version, after.index);
    if (end === undefined || end > after.version.effectiveFrom) {
      problems.push({
        kind: 'overlap',
        indexes: [before.index, after.index],
        message:
          `${first} overlaps ${second}: both are in force at ${after.version.effectiveFrom}` +
          (end === undefined ? ` (the first one is open-ended)` : ''),
      });
    } else if (end < after.version.effectiveFrom) {
      problems.push({
        kind: 'gap',
        indexes: [before.index, after.index],
        message: `gap between ${first} and ${second}: no version is in force from ${end} to ${after.version.effectiveFrom}`,
      });
    }
  }
  return problems;
}

const CODE_OF_KIND: Record<VersionProblemKind, ErrorCodeDefinition> = {
  invalid_range: CatalogErrors.invalid_version_range,
  overlap: CatalogErrors.version_overlap,
  gap: CatalogErrors.version_gap,
};

/**
 * Checks a version set and returns it sorted by start; throws `catalog.version_overlap`,
 * `catalog.version_gap` or `catalog.invalid_version_range` (the first problem's kind) listing every
 * problem, each naming the versions involved. `owner` names the offer or tariff in the message.
 */
export function checkVersionSet<T extends VersionRange>(
  versions: readonly T[],
  owner: string,
  describe: Describe<T> = defaultDescribe,
): T[] {
  const problems = versionSetProblems(versions, describe);
  if (problems.length > 0) {
    const first = problems[0]!;
    throw fail(CODE_OF_KIND[first.kind], `${owner}: ${first.message}`, {
      record: owner,
      errors: problems.map((problem) => ({ field: `${owner}/versions`, message: problem.message })),
    });
  }
  return sortVersions(versions);
}

export function sortVersions<T extends VersionRange>(versions: readonly T[]): T[] {
  return [...versions].sort((a, b) => compareText(a.effectiveFrom, b.effectiveFrom));
}

/**
 * The version in force at `instant` (from <= instant < to), or undefined when none is. The set is
 * expected to have passed `checkVersionSet`; on an unchecked set the earliest matching one wins.
 */
export function versionAt<T extends VersionRange>(versions: readonly T[], instant: Instant): T | undefined {
  let found: T | undefined;
  for (const version of versions) {
    if (version.effectiveFrom > instant) continue;
    if (version.effectiveTo !== undefined && version.effectiveTo <= instant) continue;
    if (found === undefined || version.effectiveFrom < found.effectiveFrom) found = version;
  }
  return found;
}

/**
 * Fills the implicit ends of a list written by a person: a version without `effectiveTo` that is
 * followed by another ends where the next begins. Versions with an explicit end keep it (so an
 * explicit end that does not meet the next start is still reported as a gap or an overlap).
 * Returns the versions in their original order.
 */
export function resolveImplicitEnds<T extends VersionRange>(versions: readonly T[]): T[] {
  const starts = [...new Set(versions.map((v) => v.effectiveFrom))].sort(compareText);
  return versions.map((version) => {
    if (version.effectiveTo !== undefined) return version;
    const next = starts.find((start) => start > version.effectiveFrom);
    return next === undefined ? version : { ...version, effectiveTo: next };
  });
}

/**
 * Refuses changes to the past: for every instant before `now` at which a version of `before` was
 * in force, `after` must have the same version (by `key`) in force with the same start. Where no
 * version was in force, a new one may be added (a first version may start in the past). Returns
 * the problems, each naming the version whose history would change.
 */
export function historyProblems<T extends VersionRange>(
  before: readonly T[],
  after: readonly T[],
  now: Instant,
  key: (version: T) => string,
  describe: (version: T) => string,
): string[] {
  const problems: string[] = [];
  for (const old of before) {
    if (old.effectiveFrom >= now) continue;
    const oldEnd = old.effectiveTo;
    const kept = after.find((candidate) => key(candidate) === key(old));
    if (kept === undefined || kept.effectiveFrom !== old.effectiveFrom) {
      problems.push(
        `${describe(old)} has been in force since ${old.effectiveFrom} and cannot be removed or moved`,
      );
      continue;
    }
    const newEnd = kept.effectiveTo;
    if (oldEnd !== undefined && oldEnd <= now) {
      if (newEnd !== oldEnd)
        problems.push(`${describe(old)} ended at ${oldEnd}, in the past; its end cannot change`);
    } else if (newEnd !== undefined && newEnd < now) {
      problems.push(
        `${describe(old)} is in force now; it can end at ${now} at the earliest, not at ${newEnd}`,
      );
    }
  }
  return problems;
}

/** A stretch of a billing period priced by one version. */
export interface PricingSegment<T> {
  readonly version: T;
  readonly from: Instant;
  readonly to: Instant;
}

/**
 * Which versions price a subscriber's billing period [periodStart, periodEnd), following each new
 * version's price change policy: a version with 'immediate-prorated' takes over at its start, so
 * the period is split and each part is prorated; a version with 'next-period' (the default) leaves
 * subscribers on the version they started the period with until the period ends — they move to
 * it at their next period, whose start it is in force at. A version that starts while none was
 * in force takes over at once (there is no earlier price to keep).
 *
 * Example: versions A [Jan 1, Jul 1) and B [Jul 1, open). A subscriber billed from Jun 15 to
 * Jul 15 pays A for the whole period when B is 'next-period', and A for Jun 15 to Jul 1 plus B for
 * Jul 1 to Jul 15 when B is 'immediate-prorated'.
 */
export function pricingSegments<T extends VersionRange & { readonly priceChangePolicy?: string }>(
  versions: readonly T[],
  periodStart: Instant,
  periodEnd: Instant,
): Array<PricingSegment<T>> {
  const sorted = sortVersions(versions);
  const segments: Array<PricingSegment<T>> = [];
  let current = versionAt(sorted, periodStart);
  let cursor = periodStart;
  for (const version of sorted) {
    if (version.effectiveFrom <= periodStart || version.effectiveFrom >= periodEnd) continue;
    if (current !== undefined && version.priceChangePolicy !== 'immediate-prorated') continue;
    if (current !== undefined) segments.push({ version: current, from: cursor, to: version.effectiveFrom });
    current = version;
    cursor = version.effectiveFrom;
  }
  if (current !== undefined) segments.push({ version: current, from: cursor, to: periodEnd });
  return segments;
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
