/**
 * What applying a catalog document would do (pure): compares the catalog as it is (exported from
 * the store, in canonical form) with the document wanted (read from files, in canonical form) and
 * lists what would be created, changed and retired, entry by entry and version by version.
 *
 * The document is the whole truth: products, offers, tariffs, categories and catalogs missing from
 * it are retired (kept, no longer sold); versions that have not started yet and are missing are
 * withdrawn. History is never rewritten: a version that has been in force cannot change its
 * content, start or past end, nor be removed; such a change is a problem, and the fix is a new
 * version. Problems point into the wanted document with JSON pointers.
 */
import type { Instant } from '../kernel/clock.js';
import { stableJson } from './catalog-file.js';
import { pointer, type CatalogDocument, type CatalogProblem } from './model.js';
import { historyProblems } from './versions.js';

export type DiffAction = 'create' | 'change' | 'retire';
export type DiffKind =
  'product' | 'tariff' | 'tariff_version' | 'offer' | 'offer_version' | 'category' | 'catalog';

export interface DiffEntry {
  readonly action: DiffAction;
  readonly kind: DiffKind;
  readonly code: string;
  /** For versions: the start of the version. */
  readonly effectiveFrom?: Instant;
  /** For changes: the top-level fields that differ. */
  readonly fields?: readonly string[];
}

export interface CatalogDiff {
  readonly entries: DiffEntry[];
  readonly problems: CatalogProblem[];
}

export function isEmptyDiff(diff: CatalogDiff): boolean {
  return diff.entries.length === 0 && diff.problems.length === 0;
}

type Section = 'products' | 'tariffs' | 'offers' | 'categories' | 'catalogs';
const KIND: Record<Section, DiffKind> = {
  products: 'product',
  tariffs: 'tariff',
  offers: 'offer',
  categories: 'category',
  catalogs: 'catalog',
};

interface Versioned {
  readonly effectiveFrom: string;
  readonly effectiveTo?: string;
}

/** `current` and `wanted` must both be in canonical form (catalog-file.ts `canonicalCatalog`). */
export function diffCatalogs(current: CatalogDocument, wanted: CatalogDocument, now: Instant): CatalogDiff {
  const entries: DiffEntry[] = [];
  const problems: CatalogProblem[] = [];
  for (const section of ['products', 'tariffs', 'offers', 'categories', 'catalogs'] as const) {
    const kind = KIND[section];
    const before = new Map(
      (current[section] as ReadonlyArray<{ code: string; status?: string }>).map((entry) => [
        entry.code,
        entry,
      ]),
    );
    const after = wanted[section] as ReadonlyArray<{ code: string; versions?: readonly Versioned[] }>;
    after.forEach((entry, index) => {
      const old = before.get(entry.code) as { code: string; versions?: readonly Versioned[] } | undefined;
      if (old === undefined) {
        entries.push({ action: 'create', kind, code: entry.code });
        for (const version of entry.versions ?? [])
          entries.push({
            action: 'create',
            kind: versionKind(kind),
            code: entry.code,
            effectiveFrom: version.effectiveFrom,
          });
        return;
      }
      const fields = changedFields(old, entry, ['versions']);
      if (fields.length > 0) entries.push({ action: 'change', kind, code: entry.code, fields });
      if (entry.versions !== undefined) {
        diffVersions(
          kind,
          entry.code,
          old.versions ?? [],
          entry.versions,
          now,
          pointer(section, index),
          entries,
          problems,
        );
      }
    });
    const wantedCodes = new Set(after.map((entry) => entry.code));
    for (const [code, entry] of before) {
      if (!wantedCodes.has(code) && entry.status !== 'retired')
        entries.push({ action: 'retire', kind, code });
    }
  }
  return { entries, problems };
}

function versionKind(kind: DiffKind): DiffKind {
  return kind === 'tariff' ? 'tariff_version' : 'offer_version';
}

function diffVersions(
  kind: DiffKind,
  code: string,
  before: readonly Versioned[],
  after: readonly Versioned[],
  now: Instant,
  base: string,
  entries: DiffEntry[],
  problems: CatalogProblem[],
): void {
  const vKind = versionKind(kind);
  const what = `${kind} ${code}`;
  const indexOf = (version: Versioned) => after.findIndex((v) => v.effectiveFrom === version.effectiveFrom);
  for (const message of historyProblems(
    before,
    after,
    now,
    (v) => v.effectiveFrom,
    (v) => `${what} version from ${v.effectiveFrom}`,
  )) {
    problems.push({ path: `${base}/versions`, message: `${message}; add a new version instead` });
  }
  const oldByStart = new Map(before.map((v) => [v.effectiveFrom, v]));
  for (const version of after) {
    const old = oldByStart.get(version.effectiveFrom);
    if (old === undefined) {
      entries.push({ action: 'create', kind: vKind, code, effectiveFrom: version.effectiveFrom });
      continue;
    }
    const fields = changedFields(old, version, []);
    if (fields.length === 0) continue;
    const contentFields = fields.filter((field) => field !== 'effectiveTo');
    if (contentFields.length > 0 && old.effectiveFrom < now) {
      problems.push({
        path: `${base}/versions/${indexOf(version)}`,
        message:
          `${what} version from ${old.effectiveFrom} has been in force since then; its ${contentFields.join(', ')} cannot change: add a new version instead` +
          (what.startsWith('tariff')
            ? ' (or, for a rate that was wrong, correct the version: tollgate tariffs correct)'
            : ''),
      });
      continue;
    }
    entries.push({ action: 'change', kind: vKind, code, effectiveFrom: version.effectiveFrom, fields });
  }
  const newStarts = new Set(after.map((v) => v.effectiveFrom));
  for (const old of before) {
    // Removing a version that has started is a history problem, reported above.
    if (!newStarts.has(old.effectiveFrom) && old.effectiveFrom >= now)
      entries.push({ action: 'retire', kind: vKind, code, effectiveFrom: old.effectiveFrom });
  }
}

function changedFields(before: object, after: object, ignore: readonly string[]): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  const out: string[] = [];
  for (const key of [...keys].sort()) {
    if (ignore.includes(key)) continue;
    const a = (before as Record<string, unknown>)[key];
    const b = (after as Record<string, unknown>)[key];
    if (stableJson(a) !== stableJson(b)) out.push(key);
  }
  return out;
}

/** A line per entry, for people: "+ offer MOBILE-M", "~ offer_version MOBILE-M@2026-07-01... (prices)". */
export function describeDiff(diff: CatalogDiff): string[] {
  const sign: Record<DiffAction, string> = { create: '+', change: '~', retire: '-' };
  return diff.entries.map((entry) => {
    const at = entry.effectiveFrom === undefined ? '' : ` from ${entry.effectiveFrom}`;
    const fields = entry.fields === undefined ? '' : ` (${entry.fields.join(', ')})`;
    return `${sign[entry.action]} ${entry.action} ${entry.kind} ${entry.code}${at}${fields}`;
  });
}
