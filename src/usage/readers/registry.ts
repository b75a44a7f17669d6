/**
 * Which reader reads which format, and the file helper that feeds a reader from a path.
 *
 * `readerFor(format, options)` gives the text readers of this folder; `readerForSource(source)`
 * gives the reader of a stored source definition (its `mapping` holds the CSV mapping, or the
 * options of the Asterisk and FreeSWITCH readers), including the 3GPP BER reader.
 */
import { createReadStream } from 'node:fs';
import { fail } from '../../kernel/errors.js';
import { UsageErrors } from '../errors.js';
import {
  READ_FROM_START,
  type ReadItem,
  type ReaderSettings,
  type ReadStart,
  type UsageReader,
} from '../model.js';
import type { SourceDefinition } from '../source.js';
import { createBerReader } from './ber/index.js';
import { ASTERISK_OPTIONAL_COLUMNS, createAsteriskReader, type AsteriskReaderOptions } from './asterisk.js';
import { createCsvReader } from './csv.js';
import { createFreeswitchCsvReader, type FreeswitchCsvOptions } from './freeswitch.js';
import { createJsonLinesReader } from './jsonl.js';
import { validateCsvMapping } from './mapping.js';

export const TEXT_FORMATS = ['csv', 'tsv', 'asterisk-csv', 'freeswitch-csv', 'jsonl'] as const;
export type TextFormat = (typeof TEXT_FORMATS)[number];

export interface ReaderOptions {
  /** csv, tsv: the column mapping (validated here; throws usage.invalid_source). */
  readonly mapping?: unknown;
  readonly asterisk?: AsteriskReaderOptions;
  readonly freeswitch?: FreeswitchCsvOptions;
  /** A record longer than this many bytes is rejected (default 1 MiB). */
  readonly maxRecordBytes?: number;
}

export function readerFor(format: TextFormat, options: ReaderOptions = {}): UsageReader {
  const limit = options.maxRecordBytes === undefined ? {} : { maxRecordBytes: options.maxRecordBytes };
  switch (format) {
    case 'csv':
    case 'tsv':
      return createCsvReader(options.mapping, format, limit);
    case 'asterisk-csv':
      return createAsteriskReader({ ...options.asterisk, ...limit });
    case 'freeswitch-csv':
      return createFreeswitchCsvReader({ ...options.freeswitch, ...limit });
    case 'jsonl':
      return createJsonLinesReader(limit);
    default:
      throw new RangeError(`no text reader for the format ${String(format)}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(source: string, field: string, message: string): never {
  throw fail(UsageErrors.invalid_source, `source ${source}: ${field} ${message}`, { field, record: source });
}

/** The Asterisk options of a source's `mapping`: { extraColumns?, unanswered? }. */
function asteriskOptions(source: SourceDefinition): AsteriskReaderOptions {
  const mapping = source.mapping ?? {};
  if (!isRecord(mapping)) invalid(source.name, 'mapping', 'must be an object');
  for (const key of Object.keys(mapping)) {
    if (key !== 'extraColumns' && key !== 'unanswered')
      invalid(source.name, `mapping.${key}`, 'is not an asterisk-csv setting');
  }
  const extra = mapping.extraColumns;
  if (
    extra !== undefined &&
    (!Array.isArray(extra) ||
      extra.some((c) => !(ASTERISK_OPTIONAL_COLUMNS as readonly unknown[]).includes(c)))
  ) {
    invalid(
      source.name,
      'mapping.extraColumns',
      `must list columns among ${ASTERISK_OPTIONAL_COLUMNS.join(', ')}`,
    );
  }
  return { ...(extra === undefined ? {} : { extraColumns: extra }), ...unansweredOf(source, mapping) };
}

function unansweredOf(
  source: SourceDefinition,
  mapping: Record<string, unknown>,
): { unanswered?: 'record' | 'reject' } {
  const value = mapping.unanswered;
  if (value === undefined) return {};
  if (value !== 'record' && value !== 'reject')
    invalid(source.name, 'mapping.unanswered', 'must be "record" or "reject"');
  return { unanswered: value };
}

function freeswitchOptions(source: SourceDefinition): FreeswitchCsvOptions {
  const mapping = source.mapping ?? {};
  if (!isRecord(mapping)) invalid(source.name, 'mapping', 'must be an object');
  for (const key of Object.keys(mapping)) {
    if (key !== 'columns' && key !== 'unanswered')
      invalid(source.name, `mapping.${key}`, 'is not a freeswitch-csv setting');
  }
  const columns = mapping.columns;
  if (columns !== undefined && (!Array.isArray(columns) || columns.some((c) => typeof c !== 'string'))) {
    invalid(source.name, 'mapping.columns', 'must list the template variable names');
  }
  const options = {
    ...(columns === undefined ? {} : { columns: columns as string[] }),
    ...unansweredOf(source, mapping),
  };
  try {
    createFreeswitchCsvReader(options);
  } catch (error) {
    invalid(
      source.name,
      'mapping.columns',
      (error as Error).message.replace(/^the FreeSWITCH template columns /, ''),
    );
  }
  return options;
}

/**
 * Checks the format-specific part of a source definition (the CSV mapping, the switch options);
 * throws usage.invalid_source naming the path. Formats without a mapping accept none.
 */
export function validateSourceMapping(source: SourceDefinition): void {
  switch (source.format) {
    case 'csv':
    case 'tsv':
      validateCsvMapping(source.mapping, source.format, source.name);
      return;
    case 'asterisk-csv':
      asteriskOptions(source);
      return;
    case 'freeswitch-csv':
      freeswitchOptions(source);
      return;
    default:
      if (source.mapping !== undefined && source.format !== '3gpp-ber') {
        invalid(source.name, 'mapping', `does not apply to the format ${source.format}`);
      }
  }
}

/** The reader of a source's files; throws usage.invalid_source for formats that have no file reader. */
export function readerForSource(source: SourceDefinition): UsageReader {
  switch (source.format) {
    case 'csv':
    case 'tsv':
      return createCsvReader(validateCsvMapping(source.mapping, source.format, source.name), source.format);
    case 'asterisk-csv':
      return createAsteriskReader(asteriskOptions(source));
    case 'freeswitch-csv':
      return createFreeswitchCsvReader(freeswitchOptions(source));
    case 'jsonl':
      return createJsonLinesReader();
    case '3gpp-ber': {
      const mapping = isRecord(source.mapping) ? source.mapping : {};
      const home = mapping.homeMccMncs;
      return createBerReader(Array.isArray(home) ? { homeMccMncs: home as string[] } : {});
    }
    default:
      return invalid(
        source.name,
        'format',
        `${source.format} has no file reader (its records arrive one by one)`,
      );
  }
}

/** The read stream the readers expect: the file from `start.byteOffset`, in chunks of about 1 MiB. */
export function openUsageFile(path: string, start: ReadStart = READ_FROM_START): AsyncIterable<Uint8Array> {
  return createReadStream(path, { start: start.byteOffset, highWaterMark: 1 << 20 });
}

/** Reads the file at `path` with `reader` from `start` (resuming where an import stopped). */
export function readUsageFile(
  path: string,
  reader: UsageReader,
  settings: ReaderSettings,
  start: ReadStart = READ_FROM_START,
): AsyncIterable<ReadItem[]> {
  return reader(openUsageFile(path, start), settings, start);
}
