/**
 * Declarative column mappings for generic CSV and TSV sources: the `CsvMapping` an operator writes
 * in a source definition (see docs/usage-formats.md), its validation with errors naming the path
 * ("mapping.fields.startMs.format must be one of ..."), and its compilation into a per-record
 * extractor that turns the fields of one record into a UsageInput or a reject.
 */
import { fail } from '../../kernel/errors.js';
import { IDENTITY_TYPES, isIdentityType } from '../../customers/index.js';
import { UsageErrors } from '../errors.js';
import {
  USAGE_SERVICES,
  isUsageService,
  type ReadItem,
  type ReaderSettings,
  type RecordPosition,
} from '../model.js';
import {
  isKnownTimeZone,
  isQuantityUnit,
  normaliseE164,
  parseCurrencyCode,
  parseDecimalText,
  parseQuantity,
  parseTime,
  ParseFailure,
  QUANTITY_ROUNDING,
  QUANTITY_UNITS,
  TIME_FORMATS,
  timeZoneNamed,
  type QuantityRounding,
  type QuantityUnit,
  type TimeFormat,
} from '../normalise.js';
import { rejectItem, type RecordView, type TextEncoding } from './delimited.js';
import {
  buildInput,
  emptyParts,
  normaliseIdentityValue,
  parseBooleanWord,
  resetParts,
  shown,
  type InputParts,
} from './values.js';

/** The UsageInput fields a mapping can fill ('priceAmount' and 'priceCurrency' make `price`). */
export const MAPPED_FIELDS = [
  'service',
  'identityType',
  'identity',
  'startMs',
  'durationSec',
  'volumeUpBytes',
  'volumeDownBytes',
  'count',
  'callingNumber',
  'calledNumber',
  'apn',
  'ratingGroup',
  'cellId',
  'visitedMccMnc',
  'roaming',
  'snssai',
  'qos',
  'eventType',
  'priceAmount',
  'priceCurrency',
  'sourceRecordId',
] as const;
export type MappedField = (typeof MAPPED_FIELDS)[number];

/** How one UsageInput field is read. A bare string or number is shorthand for `{ column }`. */
export interface FieldMapping {
  /** The column: its name (from `columns` or the header line) or its 1-based number. */
  readonly column?: string | number;
  /** A constant instead of a column: `{ "value": "voice" }`. */
  readonly value?: string | number | boolean;
  /** An empty or absent value gives the default (or leaves the field out) instead of a reject. */
  readonly optional?: boolean;
  /** The value used when an optional column is empty. */
  readonly default?: string | number | boolean;
  /** startMs: how the time is written (default 'datetime', local time in `timeZone`). */
  readonly format?: TimeFormat;
  /** startMs: the IANA zone of local times, when not the source's. */
  readonly timeZone?: string;
  /** durationSec, volumes, count: the unit the column is written in (default the base unit). */
  readonly unit?: QuantityUnit;
  /** Rounding of a conversion that is not whole (milliseconds → seconds); without it such values are refused. */
  readonly rounding?: QuantityRounding;
  /** identity, callingNumber, calledNumber: 'e164' (default; the numbering plan applies) or 'as-is'. */
  readonly number?: 'e164' | 'as-is';
  /** service, identityType, eventType, roaming: the source's values and what they mean. */
  readonly map?: Readonly<Record<string, string | boolean>>;
}

export interface CsvMapping {
  /** One character; ',' for csv and a tab for tsv by default. */
  readonly delimiter?: string;
  /** One character, or null for no quoting; '"' by default. */
  readonly quote?: string | null;
  /** True when files start with a header line (skipped when reading from the start). */
  readonly header?: boolean;
  /** The column names in order. Needed to resume after the header when fields name columns. */
  readonly columns?: readonly string[];
  /** The number of columns when they are not named; records with another count are rejected. */
  readonly columnCount?: number;
  /** 'utf8' (default; invalid bytes in a used field are a reject) or 'latin1'. */
  readonly encoding?: TextEncoding;
  /** Trim spaces and tabs around values before reading them (default true). */
  readonly trim?: boolean;
  readonly fields: Readonly<Partial<Record<MappedField, FieldMapping | string | number>>>;
  /** Other columns kept in `extra`, by the name they get there. */
  readonly extra?: Readonly<Record<string, string | number>>;
}

type Kind =
  | 'service'
  | 'identityType'
  | 'identity'
  | 'time'
  | 'quantity'
  | 'integer'
  | 'number'
  | 'text'
  | 'mccMnc'
  | 'boolean'
  | 'decimal'
  | 'currency';

const KIND_OF: Readonly<Record<MappedField, Kind>> = {
  service: 'service',
  identityType: 'identityType',
  identity: 'identity',
  startMs: 'time',
  durationSec: 'quantity',
  volumeUpBytes: 'quantity',
  volumeDownBytes: 'quantity',
  count: 'quantity',
  callingNumber: 'number',
  calledNumber: 'number',
  apn: 'text',
  ratingGroup: 'integer',
  cellId: 'text',
  visitedMccMnc: 'mccMnc',
  roaming: 'boolean',
  snssai: 'text',
  qos: 'text',
  eventType: 'text',
  priceAmount: 'decimal',
  priceCurrency: 'currency',
  sourceRecordId: 'text',
};

const BASE_UNIT_OF: Partial<Record<MappedField, string>> = {
  durationSec: 'second',
  volumeUpBytes: 'byte',
  volumeDownBytes: 'byte',
  count: 'event',
};

const REQUIRED_FIELDS: readonly MappedField[] = ['service', 'identity', 'startMs'];

const FIELD_KEYS = new Set([
  'column',
  'value',
  'optional',
  'default',
  'format',
  'timeZone',
  'unit',
  'rounding',
  'number',
  'map',
]);
const MAPPING_KEYS = new Set([
  'delimiter',
  'quote',
  'header',
  'columns',
  'columnCount',
  'encoding',
  'trim',
  'fields',
  'extra',
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isOneByteCharacter(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length === 1 &&
    value.charCodeAt(0) < 128 &&
    value !== '\n' &&
    value !== '\r'
  );
}

/**
 * Checks a mapping as an operator writes it and returns it typed. Every problem is listed, each
 * naming its path: "mapping.fields.durationSec.unit must be one of second, millisecond, ...".
 * Throws `usage.invalid_source` with all of them.
 */
export function validateCsvMapping(
  value: unknown,
  format: 'csv' | 'tsv' = 'csv',
  source = '(source)',
): CsvMapping {
  const problems: Array<{ field: string; message: string }> = [];
  const problem = (field: string, message: string): void => {
    problems.push({ field, message: `${field} ${message}` });
  };
  if (!isRecord(value)) {
    problem('mapping', 'must be an object with at least "fields"');
  } else {
    for (const key of Object.keys(value))
      if (!MAPPING_KEYS.has(key)) problem(`mapping.${key}`, 'is not a known setting');
    if (value.delimiter !== undefined && !isOneByteCharacter(value.delimiter)) {
      problem('mapping.delimiter', 'must be one ASCII character other than a line break');
    }
    if (value.quote !== undefined && value.quote !== null && !isOneByteCharacter(value.quote)) {
      problem('mapping.quote', 'must be one ASCII character, or null for no quoting');
    }
    const delimiter = value.delimiter ?? (format === 'tsv' ? '\t' : ',');
    if (value.quote !== undefined && value.quote !== null && value.quote === delimiter) {
      problem('mapping.quote', 'must differ from the delimiter');
    }
    if (value.header !== undefined && typeof value.header !== 'boolean')
      problem('mapping.header', 'must be true or false');
    if (value.encoding !== undefined && value.encoding !== 'utf8' && value.encoding !== 'latin1') {
      problem('mapping.encoding', 'must be "utf8" or "latin1"');
    }
    if (value.trim !== undefined && typeof value.trim !== 'boolean')
      problem('mapping.trim', 'must be true or false');
    let columnNames: string[] | undefined;
    if (value.columns !== undefined) {
      if (
        !Array.isArray(value.columns) ||
        value.columns.length === 0 ||
        value.columns.some((name) => typeof name !== 'string' || name === '')
      ) {
        problem('mapping.columns', 'must be a list of column names');
      } else {
        columnNames = value.columns as string[];
        const seen = new Set<string>();
        for (const name of columnNames) {
          if (seen.has(name)) problem('mapping.columns', `names ${JSON.stringify(name)} twice`);
          seen.add(name);
        }
      }
    }
    if (value.columnCount !== undefined) {
      if (
        typeof value.columnCount !== 'number' ||
        !Number.isSafeInteger(value.columnCount) ||
        value.columnCount < 1
      ) {
        problem('mapping.columnCount', 'must be a positive whole number');
      } else if (columnNames !== undefined && columnNames.length !== value.columnCount) {
        problem(
          'mapping.columnCount',
          `is ${value.columnCount} but mapping.columns names ${columnNames.length}`,
        );
      }
    }
    const count =
      columnNames?.length ?? (typeof value.columnCount === 'number' ? value.columnCount : undefined);
    const checkColumn = (path: string, column: unknown): void => {
      if (typeof column === 'number') {
        if (!Number.isSafeInteger(column) || column < 1) problem(path, 'must be a column number from 1');
        else if (count !== undefined && column > count)
          problem(path, `is column ${column} but records have ${count}`);
      } else if (typeof column === 'string') {
        if (column === '') problem(path, 'must name a column');
        else if (columnNames !== undefined && !columnNames.includes(column)) {
          problem(path, `names ${JSON.stringify(column)}, which is not in mapping.columns`);
        } else if (columnNames === undefined && value.header !== true) {
          problem(path, 'names a column, but the mapping has no columns list and no header line');
        }
      } else problem(path, 'must be a column name or a 1-based column number');
    };
    if (!isRecord(value.fields)) {
      problem('mapping.fields', 'must be an object mapping usage fields to columns');
    } else {
      for (const [name, spec] of Object.entries(value.fields)) {
        const path = `mapping.fields.${name}`;
        if (!(MAPPED_FIELDS as readonly string[]).includes(name)) {
          problem(path, `is not a usage field; use ${MAPPED_FIELDS.join(', ')}`);
          continue;
        }
        const field = name as MappedField;
        if (typeof spec === 'string' || typeof spec === 'number') {
          checkColumn(path, spec);
          continue;
        }
        if (!isRecord(spec)) {
          problem(path, 'must be a column (name or number) or an object with "column" or "value"');
          continue;
        }
        for (const key of Object.keys(spec))
          if (!FIELD_KEYS.has(key)) problem(`${path}.${key}`, 'is not a known setting');
        if ((spec.column === undefined) === (spec.value === undefined)) {
          problem(path, 'needs exactly one of "column" and "value"');
        }
        if (spec.column !== undefined) checkColumn(`${path}.column`, spec.column);
        if (spec.optional !== undefined && typeof spec.optional !== 'boolean') {
          problem(`${path}.optional`, 'must be true or false');
        }
        const kind = KIND_OF[field];
        const only = (key: string, kinds: readonly Kind[]): boolean => {
          if (spec[key] === undefined) return false;
          if (!kinds.includes(kind)) {
            problem(`${path}.${key}`, `does not apply to ${name}`);
            return false;
          }
          return true;
        };
        if (only('format', ['time']) && !(TIME_FORMATS as readonly unknown[]).includes(spec.format)) {
          problem(`${path}.format`, `must be one of ${TIME_FORMATS.join(', ')}`);
        }
        if (only('timeZone', ['time']) && !isKnownTimeZone(spec.timeZone)) {
          problem(`${path}.timeZone`, 'must be an IANA time zone such as Europe/Berlin');
        }
        if (only('unit', ['quantity'])) {
          const base = BASE_UNIT_OF[field];
          const units = Object.entries(QUANTITY_UNITS)
            .filter(([, unit]) => unit.base === base)
            .map(([unitName]) => unitName);
          if (!isQuantityUnit(spec.unit) || !units.includes(spec.unit)) {
            problem(`${path}.unit`, `must be one of ${units.join(', ')}`);
          }
        }
        if (
          only('rounding', ['quantity']) &&
          !(QUANTITY_ROUNDING as readonly unknown[]).includes(spec.rounding)
        ) {
          problem(`${path}.rounding`, `must be one of ${QUANTITY_ROUNDING.join(', ')}`);
        }
        if (only('number', ['number', 'identity']) && spec.number !== 'e164' && spec.number !== 'as-is') {
          problem(`${path}.number`, 'must be "e164" or "as-is"');
        }
        if (only('map', ['service', 'identityType', 'text', 'boolean'])) {
          if (!isRecord(spec.map)) problem(`${path}.map`, 'must be an object from source values to values');
          else {
            for (const [from, to] of Object.entries(spec.map)) {
              const checked = checkConstant(field, to);
              if (checked !== undefined) problem(`${path}.map.${from}`, checked);
            }
          }
        }
        if (spec.value !== undefined) {
          const checked = checkConstant(field, spec.value);
          if (checked !== undefined) problem(`${path}.value`, checked);
        }
        if (spec.default !== undefined) {
          if (spec.optional !== true) problem(`${path}.default`, 'needs "optional": true');
          const checked = checkConstant(field, spec.default);
          if (checked !== undefined) problem(`${path}.default`, checked);
        }
      }
      for (const required of REQUIRED_FIELDS) {
        if (value.fields[required] === undefined) problem(`mapping.fields.${required}`, 'is required');
      }
      if ((value.fields.priceAmount === undefined) !== (value.fields.priceCurrency === undefined)) {
        problem('mapping.fields.priceAmount', 'and priceCurrency go together');
      }
    }
    if (value.extra !== undefined) {
      if (!isRecord(value.extra)) problem('mapping.extra', 'must be an object from names to columns');
      else
        for (const [name, column] of Object.entries(value.extra))
          checkColumn(`mapping.extra.${name}`, column);
    }
  }
  if (problems.length > 0) {
    throw fail(UsageErrors.invalid_source, `source ${source}: ${problems.map((p) => p.message).join('; ')}`, {
      field: problems[0]?.field,
      record: source,
      errors: problems,
    });
  }
  return value as unknown as CsvMapping;
}

/** Why a constant cannot be the value of `field`, or undefined when it can. */
function checkConstant(field: MappedField, value: unknown): string | undefined {
  const kind = KIND_OF[field];
  if (kind === 'boolean') return typeof value === 'boolean' ? undefined : 'must be true or false';
  if (typeof value !== 'string' && typeof value !== 'number') return 'must be a text or a number';
  const parsed = parseConstant(field, String(value));
  return parsed instanceof ParseFailure ? `${shown(String(value))} ${parsed.reason}` : undefined;
}

function parseConstant(field: MappedField, text: string): unknown {
  switch (KIND_OF[field]) {
    case 'service':
      return isUsageService(text)
        ? text
        : new ParseFailure(`is not a service; use ${USAGE_SERVICES.join(', ')}`);
    case 'identityType':
      return isIdentityType(text)
        ? text
        : new ParseFailure(`is not an identity type; use ${IDENTITY_TYPES.join(', ')}`);
    case 'quantity':
    case 'integer':
      return parseQuantity(text, field === 'durationSec' ? 'second' : field === 'count' ? 'event' : 'byte');
    case 'decimal':
      return parseDecimalText(text);
    case 'currency':
      return parseCurrencyCode(text);
    case 'mccMnc':
      return parseMccMnc(text);
    default:
      return text;
  }
}

function parseMccMnc(text: string): string | ParseFailure {
  if (text.length < 5 || text.length > 6) return new ParseFailure('is not an MCC-MNC of 5 or 6 digits');
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return new ParseFailure('is not an MCC-MNC of 5 or 6 digits');
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// Compilation

type Parse = (text: string, parts: InputParts) => unknown;

interface CompiledField {
  readonly target: MappedField;
  /** 0-based column, or -1 for a constant. */
  readonly column: number;
  /** How the column is named in messages: 'column 3 (src)'. */
  readonly label: string;
  readonly optional: boolean;
  readonly parse: Parse;
  /** The parsed constant, or the parsed default of an optional column (undefined: leave the field out). */
  readonly constant: unknown;
}

/** A compiled mapping: how to read one record's fields. */
export interface CompiledMapping {
  readonly delimiter: number;
  readonly quote: number;
  readonly header: boolean;
  readonly encoding: TextEncoding;
  /** Column names of the mapping, when it declares them. */
  readonly columns: readonly string[] | undefined;
  /** The number of columns every record must have, when known from the mapping. */
  readonly columnCount: number | undefined;
  /** True when fields name columns, so the names must be known (from `columns` or the header line). */
  readonly needsNames: boolean;
  /**
   * Binds column names (from the mapping or a header line) and returns the record extractor;
   * returns a reason instead when a named column is missing.
   */
  bind(names: readonly string[] | undefined): RecordExtractor | string;
}

export type RecordExtractor = (view: RecordView, position: RecordPosition) => ReadItem;

function makeParser(field: MappedField, spec: FieldMapping, settings: ReaderSettings): Parse {
  const map = spec.map;
  const mapped = (text: string): string | boolean | undefined => {
    if (map === undefined) return undefined;
    const exact = map[text];
    if (exact !== undefined) return exact;
    for (const [from, to] of Object.entries(map)) if (from.toLowerCase() === text.toLowerCase()) return to;
    return undefined;
  };
  switch (KIND_OF[field]) {
    case 'service':
      return (text) => {
        const value = mapped(text) ?? text.toLowerCase();
        return isUsageService(value)
          ? value
          : new ParseFailure(
              map === undefined
                ? `is not a service (${USAGE_SERVICES.join(', ')})`
                : `is not one of the mapped service values (${Object.keys(map).join(', ')})`,
            );
      };
    case 'identityType':
      return (text) => {
        const value = mapped(text) ?? text;
        return isIdentityType(value)
          ? value
          : new ParseFailure(`is not an identity type (${IDENTITY_TYPES.join(', ')})`);
      };
    case 'identity':
      if (spec.number === 'as-is') return (text) => text;
      return (text, parts) => normaliseIdentityValue(parts.identityType, text, settings);
    case 'number':
      if (spec.number === 'as-is') return (text) => text;
      return (text) => normaliseE164(text, settings.numbering);
    case 'time': {
      const format = spec.format ?? 'datetime';
      const zone = timeZoneNamed(spec.timeZone ?? settings.timeZone);
      return (text) => parseTime(text, format, zone);
    }
    case 'quantity': {
      const unit = spec.unit ?? (BASE_UNIT_OF[field] as QuantityUnit);
      const rounding = spec.rounding;
      return (text) => parseQuantity(text, unit, rounding);
    }
    case 'integer':
      return (text) => parseQuantity(text, 'event');
    case 'boolean':
      return (text) => {
        const value = mapped(text);
        return typeof value === 'boolean' ? value : parseBooleanWord(text);
      };
    case 'decimal':
      return (text) => parseDecimalText(text);
    case 'currency':
      return (text) => parseCurrencyCode(text.toUpperCase());
    case 'mccMnc':
      return (text) => parseMccMnc(text);
    case 'text':
      if (map === undefined) return (text) => text;
      return (text) => {
        const value = mapped(text);
        return typeof value === 'string' ? value : text;
      };
  }
}

/** Order in which fields are read: the identity type before the identity it governs. */
function fieldOrder(field: MappedField): number {
  return field === 'identityType' ? 0 : field === 'identity' ? 1 : 2;
}

function trimmed(text: string): string {
  const length = text.length;
  if (length === 0) return text;
  const first = text.charCodeAt(0);
  const last = text.charCodeAt(length - 1);
  return first === 32 || first === 9 || last === 32 || last === 9 ? text.trim() : text;
}

/** Compiles a validated mapping for a source; `format` gives the default delimiter. */
export function compileCsvMapping(
  mapping: CsvMapping,
  settings: ReaderSettings,
  format: 'csv' | 'tsv' = 'csv',
): CompiledMapping {
  const delimiter = (mapping.delimiter ?? (format === 'tsv' ? '\t' : ',')).charCodeAt(0);
  const quote = mapping.quote === null ? -1 : (mapping.quote ?? '"').charCodeAt(0);
  const trim = mapping.trim ?? true;
  const source = settings.source;
  const entries = (Object.entries(mapping.fields) as Array<[MappedField, FieldMapping | string | number]>)
    .map(
      ([field, spec]) =>
        [field, typeof spec === 'object' ? spec : { column: spec }] as [MappedField, FieldMapping],
    )
    .sort((a, b) => fieldOrder(a[0]) - fieldOrder(b[0]));
  const extraEntries = Object.entries(mapping.extra ?? {});
  const needsNames =
    entries.some(([, spec]) => typeof spec.column === 'string') ||
    extraEntries.some(([, column]) => typeof column === 'string');
  const columnCount = mapping.columns?.length ?? mapping.columnCount;

  const bind = (names: readonly string[] | undefined): RecordExtractor | string => {
    const resolve = (column: string | number): number | string => {
      if (typeof column === 'number') return column - 1;
      const index = names?.indexOf(column) ?? -1;
      return index >= 0 ? index : `the column ${JSON.stringify(column)} is not in the header line`;
    };
    const label = (index: number): string => {
      const name = names?.[index];
      return name === undefined ? `column ${index + 1}` : `column ${index + 1} (${name})`;
    };
    const fields: CompiledField[] = [];
    for (const [target, spec] of entries) {
      const parse = makeParser(target, spec, settings);
      if (spec.value !== undefined) {
        const constant =
          KIND_OF[target] === 'boolean' ? spec.value : parseConstantWith(parse, String(spec.value), settings);
        fields.push({ target, column: -1, label: 'constant', optional: false, parse, constant });
        continue;
      }
      const index = resolve(spec.column as string | number);
      if (typeof index === 'string') return index;
      const fallback =
        spec.default === undefined
          ? undefined
          : KIND_OF[target] === 'boolean'
            ? spec.default
            : parseConstantWith(parse, String(spec.default), settings);
      fields.push({
        target,
        column: index,
        label: label(index),
        optional: spec.optional === true,
        parse,
        constant: fallback,
      });
    }
    const extras: Array<[string, number]> = [];
    for (const [name, column] of extraEntries) {
      const index = resolve(column);
      if (typeof index === 'string') return index;
      extras.push([name, index]);
    }
    const expected = names?.length ?? columnCount;
    const scratch = emptyParts(settings);
    const lowest = Math.max(0, ...fields.map((f) => f.column + 1), ...extras.map(([, i]) => i + 1));

    return (view, position) => {
      const count = view.fieldCount;
      if (expected !== undefined ? count !== expected : count < lowest) {
        const wanted = expected ?? lowest;
        return rejectItem(
          source,
          position,
          view.line,
          'malformed_record',
          `has ${count} columns; the mapping expects ${expected === undefined ? 'at least ' : ''}${wanted} (${
            count > wanted ? 'too many' : 'too few'
          })`,
        );
      }
      const parts = resetParts(scratch, settings);
      for (let i = 0; i < fields.length; i++) {
        const field = fields[i] as CompiledField;
        let value: unknown;
        if (field.column < 0) value = field.constant;
        else {
          const raw = view.fieldText(field.column);
          if (raw === undefined) {
            return rejectItem(
              source,
              position,
              view.line,
              'unparseable',
              `${field.label} (${field.target}) is not valid UTF-8 (a Latin-1 file? then give the mapping "encoding": "latin1")`,
              field.label,
            );
          }
          const text = trim ? trimmed(raw) : raw;
          if (text === '') {
            if (!field.optional) {
              return rejectItem(
                source,
                position,
                view.line,
                'missing_field',
                `${field.label} (${field.target}) is empty`,
                field.label,
              );
            }
            value = field.constant;
            if (value === undefined) continue;
          } else {
            value = field.parse(text, parts);
            if (value instanceof ParseFailure) {
              return rejectItem(
                source,
                position,
                view.line,
                'unparseable',
                `${field.label} (${field.target}) ${shown(text)} ${value.reason}`,
                field.label,
              );
            }
          }
        }
        (parts as unknown as Record<string, unknown>)[field.target] = value;
      }
      if (extras.length > 0) {
        let extra: Record<string, string> | undefined;
        for (const [name, index] of extras) {
          const text = view.fieldText(index);
          if (text === undefined || text === '') continue;
          extra ??= {};
          extra[name] = trim ? trimmed(text) : text;
        }
        parts.extra = extra;
      }
      return { kind: 'record', position, raw: view.line, input: buildInput(parts) };
    };
  };

  return {
    delimiter,
    quote,
    header: mapping.header === true,
    encoding: mapping.encoding ?? 'utf8',
    columns: mapping.columns,
    columnCount,
    needsNames,
    bind,
  };
}

function parseConstantWith(parse: Parse, text: string, settings: ReaderSettings): unknown {
  const value = parse(text, emptyParts(settings));
  return value instanceof ParseFailure ? undefined : value;
}
