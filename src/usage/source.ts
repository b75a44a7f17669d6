/**
 * Usage sources: where usage comes from (a switch, a packet gateway, an SBC, a RADIUS server, the
 * API) and everything mediation needs to know about it: its format and column mapping, how it
 * writes numbers and times, the bounds past which a record is absurd, and how duplicates are
 * recognised. Pure: definitions are validated here, stored by the store, used by the importer.
 */
import { fail } from '../kernel/errors.js';
import { IDENTITY_TYPES, isIdentityType, isTimeZone, type IdentityType } from '../customers/index.js';
import { UsageErrors } from './errors.js';
import type { NumberingPlan, ReaderSettings, UsageInput } from './model.js';

export const SOURCE_FORMATS = [
  'csv',
  'tsv',
  'asterisk-csv',
  'freeswitch-csv',
  'freeswitch-json',
  'jsonl',
  '3gpp-ber',
  'radius',
  'api',
] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

export const DEDUP_MODES = ['record-id', 'fingerprint'] as const;
export type DedupMode = (typeof DEDUP_MODES)[number];

/** Fields of the normalised record a fingerprint can be made of. */
export const FINGERPRINT_FIELDS = [
  'service',
  'identity',
  'startMs',
  'durationSec',
  'volumeUpBytes',
  'volumeDownBytes',
  'count',
  'callingNumber',
  'calledNumber',
  'ratingGroup',
  'eventType',
] as const satisfies ReadonlyArray<keyof UsageInput>;
export type FingerprintField = (typeof FINGERPRINT_FIELDS)[number];

export const DEFAULT_FINGERPRINT: readonly FingerprintField[] = [
  'service',
  'identity',
  'startMs',
  'durationSec',
  'volumeUpBytes',
  'volumeDownBytes',
  'count',
  'calledNumber',
  'ratingGroup',
];

/** Past these, a record is not usage but a fault; each is configurable per source. */
export interface MediationBounds {
  /** The longest call or session accepted, in seconds (default 2 days). */
  readonly maxDurationSec: number;
  /** The most bytes (up + down) in one record (default 10^12, 1 TB). */
  readonly maxVolumeBytes: number;
  /** The most events in one record (default 100 000). */
  readonly maxCount: number;
  /** How far in the future an event may start, for clock skew between network and billing (default 300 s). */
  readonly futureToleranceSec: number;
}

export const DEFAULT_BOUNDS: MediationBounds = Object.freeze({
  maxDurationSec: 172_800,
  maxVolumeBytes: 1_000_000_000_000,
  maxCount: 100_000,
  futureToleranceSec: 300,
});

export interface DedupSettings {
  /** 'record-id' (the default) uses the record's own id and the fingerprint when it has none. */
  readonly mode: DedupMode;
  readonly fingerprint: readonly FingerprintField[];
  /**
   * How many days back (from the time of import) duplicates are looked for. Records older than
   * this are refused as `stale_event`: they could not be checked, and a late-record limit is what
   * an operator wants anyway. Default 45 days.
   */
  readonly windowDays: number;
}

export interface SourceDefinition {
  /** Unique per tenant: letters, digits, '.', '_' and '-'. */
  readonly name: string;
  readonly format: SourceFormat;
  readonly timeZone: string;
  readonly numbering: NumberingPlan;
  readonly identityType: IdentityType;
  /** The column mapping of 'csv' and 'tsv' sources (see docs/usage-formats.md); validated by the reader. */
  readonly mapping?: unknown;
  readonly bounds: MediationBounds;
  readonly dedup: DedupSettings;
  /** A directory watched for new files of this source (`tollgate usage watch`). */
  readonly inbox?: string;
}

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function invalid(field: string, reason: string, source: string): never {
  throw fail(UsageErrors.invalid_source, `source ${source}: ${field} ${reason}`, {
    field,
    record: source,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function positiveInteger(value: unknown, fallback: number, field: string, source: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    invalid(field, `must be a positive whole number, got ${JSON.stringify(value)}`, source);
  }
  return value;
}

/**
 * Checks a source definition as an operator writes it (JSON or YAML) and fills in the defaults.
 * Every problem names the field: "source switch-a: numbering.countryCode must be 1 to 3 digits".
 */
export function parseSourceDefinition(value: unknown): SourceDefinition {
  if (!isRecord(value)) invalid('(definition)', 'must be an object', '(unnamed)');
  const name = value.name;
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    invalid(
      'name',
      'must be 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit',
      String(name),
    );
  }
  const allowed = new Set([
    'name',
    'format',
    'timeZone',
    'numbering',
    'identityType',
    'mapping',
    'bounds',
    'dedup',
    'inbox',
  ]);
  for (const key of Object.keys(value)) if (!allowed.has(key)) invalid(key, 'is not a known field', name);
  const format = value.format;
  if (typeof format !== 'string' || !(SOURCE_FORMATS as readonly string[]).includes(format)) {
    invalid('format', `must be one of ${SOURCE_FORMATS.join(', ')}, got ${JSON.stringify(format)}`, name);
  }
  const timeZone = value.timeZone ?? 'UTC';
  if (typeof timeZone !== 'string' || !isTimeZone(timeZone)) {
    invalid(
      'timeZone',
      `must be an IANA time zone such as Europe/Berlin, got ${JSON.stringify(timeZone)}`,
      name,
    );
  }
  const numbering = parseNumbering(value.numbering, name);
  const identityType = value.identityType ?? 'msisdn';
  if (!isIdentityType(identityType)) {
    invalid('identityType', `must be one of ${IDENTITY_TYPES.join(', ')}`, name);
  }
  if ((format === 'csv' || format === 'tsv') && value.mapping === undefined) {
    invalid('mapping', `is required for a ${format} source`, name);
  }
  const boundsIn = value.bounds ?? {};
  if (!isRecord(boundsIn)) invalid('bounds', 'must be an object', name);
  for (const key of Object.keys(boundsIn)) {
    if (!(key in DEFAULT_BOUNDS)) invalid(`bounds.${key}`, 'is not a known bound', name);
  }
  const bounds: MediationBounds = {
    maxDurationSec: positiveInteger(
      boundsIn.maxDurationSec,
      DEFAULT_BOUNDS.maxDurationSec,
      'bounds.maxDurationSec',
      name,
    ),
    maxVolumeBytes: positiveInteger(
      boundsIn.maxVolumeBytes,
      DEFAULT_BOUNDS.maxVolumeBytes,
      'bounds.maxVolumeBytes',
      name,
    ),
    maxCount: positiveInteger(boundsIn.maxCount, DEFAULT_BOUNDS.maxCount, 'bounds.maxCount', name),
    futureToleranceSec: positiveInteger(
      boundsIn.futureToleranceSec,
      DEFAULT_BOUNDS.futureToleranceSec,
      'bounds.futureToleranceSec',
      name,
    ),
  };
  const dedupIn = value.dedup ?? {};
  if (!isRecord(dedupIn)) invalid('dedup', 'must be an object', name);
  for (const key of Object.keys(dedupIn)) {
    if (!['mode', 'fingerprint', 'windowDays'].includes(key))
      invalid(`dedup.${key}`, 'is not a known field', name);
  }
  const mode = dedupIn.mode ?? 'record-id';
  if (typeof mode !== 'string' || !(DEDUP_MODES as readonly string[]).includes(mode)) {
    invalid('dedup.mode', `must be one of ${DEDUP_MODES.join(', ')}`, name);
  }
  const fingerprint = dedupIn.fingerprint ?? DEFAULT_FINGERPRINT;
  if (
    !Array.isArray(fingerprint) ||
    fingerprint.length === 0 ||
    fingerprint.some((f) => !(FINGERPRINT_FIELDS as readonly string[]).includes(f as string))
  ) {
    invalid('dedup.fingerprint', `must be a non-empty list of ${FINGERPRINT_FIELDS.join(', ')}`, name);
  }
  const windowDays = positiveInteger(dedupIn.windowDays, 45, 'dedup.windowDays', name);
  if (windowDays > 3660) invalid('dedup.windowDays', 'must be at most 3660 days', name);
  const inbox = value.inbox;
  if (inbox !== undefined && (typeof inbox !== 'string' || inbox.trim() === '')) {
    invalid('inbox', 'must be a directory path', name);
  }
  return {
    name,
    format: format as SourceFormat,
    timeZone,
    numbering,
    identityType,
    ...(value.mapping === undefined ? {} : { mapping: value.mapping }),
    bounds,
    dedup: { mode: mode as DedupMode, fingerprint: fingerprint as FingerprintField[], windowDays },
    ...(inbox === undefined ? {} : { inbox: inbox as string }),
  };
}

function parseNumbering(value: unknown, source: string): NumberingPlan {
  if (value === undefined)
    invalid('numbering', 'is required (countryCode, nationalPrefix, internationalPrefixes)', source);
  if (!isRecord(value)) invalid('numbering', 'must be an object', source);
  const countryCode = value.countryCode;
  if (typeof countryCode !== 'string' || !/^[1-9][0-9]{0,2}$/.test(countryCode)) {
    invalid('numbering.countryCode', 'must be 1 to 3 digits not starting with 0, such as "49"', source);
  }
  const nationalPrefix = value.nationalPrefix ?? '0';
  if (typeof nationalPrefix !== 'string' || !/^[0-9]{0,3}$/.test(nationalPrefix)) {
    invalid('numbering.nationalPrefix', 'must be 0 to 3 digits, such as "0"', source);
  }
  const prefixes = value.internationalPrefixes ?? ['00'];
  if (!Array.isArray(prefixes) || prefixes.some((p) => typeof p !== 'string' || !/^[0-9]{1,4}$/.test(p))) {
    invalid(
      'numbering.internationalPrefixes',
      'must be a list of 1 to 4 digit access codes, such as ["00"]',
      source,
    );
  }
  const sorted = [...(prefixes as string[])].sort((a, b) => b.length - a.length);
  return { countryCode, nationalPrefix, internationalPrefixes: sorted };
}

export function readerSettingsOf(source: SourceDefinition): ReaderSettings {
  return {
    source: source.name,
    numbering: source.numbering,
    timeZone: source.timeZone,
    identityType: source.identityType,
  };
}

/** The outcome of the mediation checks that need the clock and the source's bounds. */
export interface BoundsProblem {
  readonly reason: 'out_of_bounds' | 'future_event' | 'stale_event';
  readonly field: string;
  readonly message: string;
}

const MS_PER_DAY = 86_400_000;

/**
 * Bounds, future and late checks of one normalised record at `nowMs`, the time of import.
 * Returns undefined when the record passes.
 */
export function checkRecordBounds(
  input: UsageInput,
  source: SourceDefinition,
  nowMs: number,
): BoundsProblem | undefined {
  const bounds = source.bounds;
  if (input.durationSec < 0 || input.durationSec > bounds.maxDurationSec) {
    return {
      reason: 'out_of_bounds',
      field: 'durationSec',
      message: `duration ${input.durationSec} s is outside 0 to ${bounds.maxDurationSec} s`,
    };
  }
  const volume = input.volumeUpBytes + input.volumeDownBytes;
  if (input.volumeUpBytes < 0 || input.volumeDownBytes < 0 || volume > bounds.maxVolumeBytes) {
    return {
      reason: 'out_of_bounds',
      field: input.volumeUpBytes < 0 ? 'volumeUpBytes' : 'volumeDownBytes',
      message: `volume ${input.volumeUpBytes} up + ${input.volumeDownBytes} down bytes is outside 0 to ${bounds.maxVolumeBytes} bytes`,
    };
  }
  if (input.count < 0 || input.count > bounds.maxCount) {
    return {
      reason: 'out_of_bounds',
      field: 'count',
      message: `event count ${input.count} is outside 0 to ${bounds.maxCount}`,
    };
  }
  if (input.startMs > nowMs + bounds.futureToleranceSec * 1000) {
    return {
      reason: 'future_event',
      field: 'startMs',
      message: `the event starts at ${new Date(input.startMs).toISOString()}, after the time of import ${new Date(nowMs).toISOString()}`,
    };
  }
  if (input.startMs < nowMs - source.dedup.windowDays * MS_PER_DAY) {
    return {
      reason: 'stale_event',
      field: 'startMs',
      message: `the event starts at ${new Date(input.startMs).toISOString()}, more than ${source.dedup.windowDays} days before the import (the source's late-record limit)`,
    };
  }
  return undefined;
}

/** The deduplication key of a record: its own id when the mode and record allow, else its fingerprint. */
export function dedupKeyOf(input: UsageInput, dedup: DedupSettings): string {
  if (dedup.mode === 'record-id' && input.sourceRecordId !== undefined && input.sourceRecordId !== '') {
    return `r|${input.sourceRecordId}`;
  }
  let key = 'f';
  for (const field of dedup.fingerprint) key += `|${String(input[field] ?? '')}`;
  return key;
}
