/**
 * The generic CSV / TSV reader: a declarative `CsvMapping` per source (mapping.ts), the byte-level
 * scanner (delimited.ts) underneath.
 *
 * Header lines: with `header: true` the first line of the file names the columns. It is read only
 * when reading starts at byte 0; an import resumed mid-file never sees it. So a mapping whose
 * fields name columns should also list them in `columns`: then the header line is checked against
 * that list (a difference is a reject at line 1, and reading goes on by the mapping's columns, the
 * way a resumed import would), and resuming works. Without `columns`, the names come from the
 * header line, and a resumed read rejects each record saying so.
 */
import type { ReadItem, ReaderSettings, ReadStart, UsageReader } from '../model.js';
import { readDelimited, rejectItem, type RecordView } from './delimited.js';
import { compileCsvMapping, validateCsvMapping, type CsvMapping, type RecordExtractor } from './mapping.js';
import { shown } from './values.js';

export interface CsvReaderOptions {
  /** A record longer than this many bytes is cut at its first line break and rejected (default 1 MiB). */
  readonly maxRecordBytes?: number;
}

/** A reader of `format` files laid out as `mapping` says; the mapping is validated here (throws `usage.invalid_source`). */
export function createCsvReader(
  mapping: unknown,
  format: 'csv' | 'tsv' = 'csv',
  options: CsvReaderOptions = {},
): UsageReader {
  const valid = validateCsvMapping(mapping, format);
  return (chunks, settings, start) => readCsv(chunks, settings, start, valid, format, options);
}

async function* readCsv(
  chunks: AsyncIterable<Uint8Array>,
  settings: ReaderSettings,
  start: ReadStart,
  mapping: CsvMapping,
  format: 'csv' | 'tsv',
  options: CsvReaderOptions,
): AsyncGenerator<ReadItem[]> {
  const compiled = compileCsvMapping(mapping, settings, format);
  const source = settings.source;
  let extractor: RecordExtractor | undefined;
  let unreadable = '';
  const bindTo = (names: readonly string[] | undefined): void => {
    const bound = compiled.bind(names);
    if (typeof bound === 'string') unreadable = `the file cannot be read with this mapping: ${bound}`;
    else extractor = bound;
  };
  let headerPending = compiled.header && start.byteOffset === 0;
  if (!headerPending) {
    if (compiled.needsNames && compiled.columns === undefined) {
      unreadable =
        'the mapping takes column names from the header line, which is not read when an import resumes mid-file; add mapping.columns';
    } else bindTo(compiled.columns);
  }

  const handle = (view: RecordView, position: { line: number; byteOffset: number }): ReadItem | undefined => {
    if (headerPending) {
      headerPending = false;
      const names: string[] = [];
      for (let i = 0; i < view.fieldCount; i++) names.push((view.fieldText(i) ?? '').trim());
      const declared = compiled.columns;
      if (declared === undefined) {
        bindTo(names);
        if (extractor === undefined) {
          return rejectItem(source, position, view.line, 'malformed_record', unreadable);
        }
        return undefined;
      }
      bindTo(declared);
      const differs = names.length !== declared.length || names.some((name, i) => name !== declared[i]);
      if (!differs) return undefined;
      const first = names.findIndex((name, i) => name !== declared[i]);
      const detail =
        first >= 0 && first < declared.length
          ? `column ${first + 1} is ${shown(names[first] ?? '')}, the mapping says ${shown(declared[first] ?? '')}`
          : `it has ${names.length} columns, the mapping ${declared.length}`;
      return rejectItem(
        source,
        position,
        view.line,
        'malformed_record',
        `the header line does not match mapping.columns (${detail}); records are read by mapping.columns`,
      );
    }
    if (extractor === undefined)
      return rejectItem(source, position, view.line, 'malformed_record', unreadable);
    return extractor(view, position);
  };

  yield* readDelimited(
    chunks,
    {
      source,
      delimiter: compiled.delimiter,
      quote: compiled.quote,
      encoding: compiled.encoding,
      ...(options.maxRecordBytes === undefined ? {} : { maxRecordBytes: options.maxRecordBytes }),
    },
    start,
    handle,
  );
}
