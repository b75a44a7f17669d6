/**
 * Usage mediation over HTTP: the ways usage comes in, and the operations on what came in.
 *
 * Ways in:
 * - TMF635 Usage Management v4: `POST /tmf-api/usageManagement/v4/usage?source=NAME` takes one
 *   usage record; `POST .../usage/bulk?source=NAME` takes `{ "usage": [...] }`, up to 10 000.
 *   The source (default `api`) must exist and have the format `api`: the operator defines it
 *   (`PUT /v1/usage/sources/api`), since its numbering plan and identity type say how the
 *   characteristics are read. A missing source answers 404 `usage.source_not_found`.
 * - `POST /v1/usage/uploads?source=NAME`: a raw usage file (text/csv, text/plain or
 *   application/octet-stream), streamed to a temporary file, imported, and answered with the
 *   import (counts, controls, status): 201 with Location `/v1/usage/imports/{id}`.
 * - `POST /v1/usage/freeswitch/json-cdr?source=NAME`: one FreeSWITCH mod_json_cdr document per
 *   request (set `encode` to false so it posts JSON); 200 once the record is stored, rated or
 *   rejected, since mod_json_cdr retries anything else.
 *
 * Outcomes of a TMF635 POST: rated → 201 with Location and the Usage; rejected (unknown
 * subscriber, out of bounds, not rateable...) → 422 `usage.record_rejected` with `rejectId`,
 * `reason` and the field, the reject being stored and reprocessable like any other; a duplicate
 * of a record already accounted for (same `sourceRecordId`, or the same fingerprint) → 409
 * `usage.record_duplicate` with the duplicate's `rejectId`. The bulk POST answers 200 with where
 * each record ended, in order.
 *
 * Idempotency-Key: the ingestion routes ingest before the server's idempotent transaction opens
 * (the pipeline commits its own batches), after checking that the key has no stored response; the
 * server then stores the response with the key, and replays it for a retry. A retry racing its
 * first attempt is caught by deduplication (it becomes a duplicate, never a second charge).
 *
 * Operations: imports and controls, rejects (list, correct, discard, reprocess), sources, rated
 * usage explanation and re-rating. Rated usage and reject ids are decimal strings (64-bit).
 * Amounts are `{ "amount": "3.220000000000", "currency": "EUR" }`: rated amounts with all 12
 * decimals, as text, never JSON numbers.
 *
 * Roles: reads for billing-operator, finance, support-agent and read-only; ingestion and every
 * change for billing-operator; admin may do everything.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../../app/container.js';
import type { Role } from '../../access/index.js';
import { parseInstant } from '../../kernel/clock.js';
import { CommonErrors, defineErrorCodes, fail, isTollgateError } from '../../kernel/errors.js';
import { RatedAmount } from '../../kernel/money.js';
import {
  REJECT_REASONS,
  SOURCE_FORMATS,
  USAGE_SERVICES,
  UsageErrors,
  type SourceDefinition,
} from '../../usage/index.js';
import {
  correctReject,
  dailyControls,
  defineSource,
  discardReject,
  getImport,
  getReject,
  getSource,
  idempotencyKeyUsed,
  importUsageFile,
  ingestFreeswitchJsonCdr,
  ingestJsonRecords,
  listControls,
  listImports,
  listRejects,
  listSources,
  reprocessRejects,
  type ImportRecord,
  type IngestOutcome,
  type RejectRecord,
  type SourceRecord,
} from '../../workflows/usage.js';
import {
  explainUsage,
  getRatedUsage,
  listRatedUsage,
  rerateUsage,
  type RatedUsageView,
} from '../../workflows/usage-rating.js';
import { validateIdempotencyKey } from '../../workflows/idempotent.js';
import { callerOf, principalOf } from '../access.js';
import { idParams, instantSchema, problemResponses } from '../schemas.js';

export const USAGE_PATH = '/tmf-api/usageManagement/v4/usage';
const PRODUCT_PATH = '/tmf-api/productInventory/v4/product';
const ACCOUNT_PATH = '/tmf-api/accountManagement/v4/billingAccount';

const READ: readonly Role[] = ['billing-operator', 'finance', 'support-agent', 'read-only'];
const WRITE: readonly Role[] = ['billing-operator'];
/** Who may send usage in. There is no network or mediation role yet: billing operators do. */
const INGEST: readonly Role[] = ['billing-operator'];

/** The largest upload: 1 GiB, the most the server's own body limit setting allows. */
export const DEFAULT_UPLOAD_LIMIT_BYTES = 1_073_741_824;
const BULK_MAX = 10_000;
const BULK_BODY_LIMIT_BYTES = 32 * 1_048_576;

/**
 * The outcomes of a single TMF635 record that are not a 201. They are answers about one record,
 * not failures of the request: the record is stored either way.
 */
export const UsageApiErrors = defineErrorCodes('usage', {
  record_rejected: { kind: 'precondition', title: 'Usage record rejected' },
  record_duplicate: { kind: 'conflict', title: 'Usage record is a duplicate' },
});

// ---------------------------------------------------------------------------------------------
// Shared schemas

const DECIMAL_ID = '^[1-9][0-9]{0,18}$';
const SOURCE_NAME = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';
const DAY = '^[0-9]{4}-[0-9]{2}-[0-9]{2}$';

/** Path parameters of 64-bit ids, as decimal text; `x-id-kind` tells the route-walking tests the kind. */
function decimalIdParams(kind: 'usage' | 'reject', description: string) {
  return {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: { id: { type: 'string', pattern: DECIMAL_ID, description, 'x-id-kind': kind } },
  } as const;
}

const sourceParams = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  properties: {
    id: {
      type: 'string',
      pattern: SOURCE_NAME,
      description: "The source's name",
      'x-id-kind': 'usage-source',
    },
  },
} as const;

const sourceQuery = (fallback: string, description: string) =>
  ({
    source: { type: 'string', pattern: SOURCE_NAME, default: fallback, description },
  }) as const;

const moneySchema = {
  type: 'object',
  description: 'An amount as decimal text with its ISO 4217 currency; never a JSON number',
  properties: { amount: { type: 'string' }, currency: { type: 'string' } },
} as const;

const openObject = (description: string) =>
  ({ type: 'object', description, additionalProperties: true }) as const;

const limitQuery = (max: number, fallback: number) =>
  ({
    type: 'integer',
    minimum: 1,
    maximum: max,
    default: fallback,
    description: 'Records to return',
  }) as const;

// ---------------------------------------------------------------------------------------------
// TMF635 Usage: characteristics <-> the JSON-lines record the readers know

/** Characteristics whose value is text. */
const TEXT_CHARACTERISTICS = [
  'identity',
  'identityType',
  'callingNumber',
  'calledNumber',
  'apn',
  'cellId',
  'visitedMccMnc',
  'snssai',
  'qos',
  'eventType',
  'sourceRecordId',
] as const;
/** Characteristics whose value is a whole number (a JSON integer or integer text). */
const QUANTITY_CHARACTERISTICS = [
  'durationSec',
  'volumeUpBytes',
  'volumeDownBytes',
  'count',
  'ratingGroup',
] as const;
const CHARACTERISTIC_NAMES = [
  ...TEXT_CHARACTERISTICS,
  ...QUANTITY_CHARACTERISTICS,
  'roaming',
  'price',
] as const;

const characteristicSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'value'],
  description:
    'One usage characteristic. Texts: identity (required), identityType (msisdn, imsi, ...; default: the ' +
    "source's), callingNumber, calledNumber (normalised to E.164 with the source's numbering plan), apn, " +
    'cellId, visitedMccMnc, snssai, qos, eventType, sourceRecordId (the network record id, for ' +
    'deduplication). Whole numbers (JSON integers or integer text): durationSec, volumeUpBytes, ' +
    'volumeDownBytes, count, ratingGroup. roaming: true or false. price: { amount: decimal text, currency }.',
  properties: {
    name: { type: 'string', enum: CHARACTERISTIC_NAMES },
    value: {
      type: ['string', 'integer', 'boolean', 'object'],
      description: 'Text, whole number, boolean, or for price { amount, currency }',
    },
    valueType: { type: 'string', maxLength: 50, description: 'Informative only' },
    '@type': { type: 'string', maxLength: 50 },
  },
} as const;

const relatedPartySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id'],
  description: 'Informative: kept with the record; the subscriber is found by the identity characteristic',
  properties: {
    id: { type: 'string', minLength: 1, maxLength: 100 },
    href: { type: 'string', maxLength: 500 },
    name: { type: 'string', maxLength: 200 },
    role: { type: 'string', maxLength: 50 },
    '@referredType': { type: 'string', maxLength: 50 },
  },
} as const;

const usageInputSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['usageDate', 'usageType', 'usageCharacteristic'],
  description: 'A TMF635 Usage as sent: when, what kind, and its characteristics',
  properties: {
    '@type': { type: 'string', enum: ['Usage'] },
    description: { type: 'string', maxLength: 500 },
    usageDate: { ...instantSchema, description: 'When the usage started (a call: its answer time)' },
    usageType: { type: 'string', enum: USAGE_SERVICES, description: 'The service' },
    usageCharacteristic: { type: 'array', minItems: 1, maxItems: 40, items: characteristicSchema },
    relatedParty: { type: 'array', maxItems: 10, items: relatedPartySchema },
  },
} as const;

interface CharacteristicIn {
  name: (typeof CHARACTERISTIC_NAMES)[number];
  value: unknown;
}
interface UsageIn {
  description?: string;
  usageDate: string;
  usageType: string;
  usageCharacteristic: CharacteristicIn[];
  relatedParty?: Array<{ id: string; role?: string }>;
}

/** A converted TMF body: the JSON-lines record, and where each record field came from in the body. */
interface Converted {
  readonly record: Record<string, unknown>;
  readonly pointerOf: (field: string | undefined) => string | undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns a TMF635 body into the JSON-lines record of the readers (docs/usage-formats.md), refusing
 * (400, naming the field) what the schema cannot say: a characteristic given twice, a value of the
 * wrong kind for its name, a missing identity. Reading it (numbers, identity) is the source's job.
 */
function convertUsage(body: UsageIn, at: string): Converted {
  if (parseInstant(body.usageDate) === undefined) {
    throw fail(CommonErrors.invalid_input, `${at}/usageDate is not a date-time this server can read`, {
      field: `${at}/usageDate`,
    });
  }
  const record: Record<string, unknown> = { service: body.usageType, start: body.usageDate };
  const indexOf = new Map<string, number>();
  body.usageCharacteristic.forEach((characteristic, i) => {
    const pointer = `${at}/usageCharacteristic/${i}/value`;
    const { name, value } = characteristic;
    if (indexOf.has(name)) {
      throw fail(CommonErrors.invalid_input, `${at}/usageCharacteristic/${i}/name: ${name} is given twice`, {
        field: `${at}/usageCharacteristic/${i}/name`,
      });
    }
    indexOf.set(name, i);
    const wrong = (what: string): never => {
      throw fail(CommonErrors.invalid_input, `${pointer}: ${name} must be ${what}`, { field: pointer });
    };
    if ((TEXT_CHARACTERISTICS as readonly string[]).includes(name)) {
      if (typeof value !== 'string' || value === '' || value.length > 200)
        wrong('text of 1 to 200 characters');
      record[name] = value;
    } else if ((QUANTITY_CHARACTERISTICS as readonly string[]).includes(name)) {
      // A negative quantity is well-formed: mediation rejects it as out_of_bounds, stored with the
      // record like any reject (and, in a bulk POST, without refusing the other records).
      if (
        !(typeof value === 'number' && Number.isSafeInteger(value)) &&
        !(typeof value === 'string' && /^-?[0-9]{1,16}$/.test(value))
      ) {
        wrong('a whole number (JSON integer or integer text), never a fraction');
      }
      record[name] = value;
    } else if (name === 'roaming') {
      if (typeof value !== 'boolean') wrong('true or false');
      record.roaming = value;
    } else {
      // price
      if (
        !isObject(value) ||
        Object.keys(value).some((k) => k !== 'amount' && k !== 'currency') ||
        typeof value.amount !== 'string' ||
        typeof value.currency !== 'string'
      ) {
        wrong('{ "amount": decimal text such as "0.99", "currency": "EUR" }');
      }
      record.price = value;
    }
  });
  if (!indexOf.has('identity')) {
    throw fail(
      CommonErrors.invalid_input,
      `${at}/usageCharacteristic: the identity characteristic is required`,
      {
        field: `${at}/usageCharacteristic`,
      },
    );
  }
  const extra: Record<string, string> = {};
  if (body.description !== undefined) extra.description = body.description;
  body.relatedParty?.forEach((party, i) => {
    extra[`relatedParty.${party.role ?? String(i)}`] = party.id;
  });
  if (Object.keys(extra).length > 0) record.extra = extra;
  const pointerOf = (field: string | undefined): string | undefined => {
    if (field === undefined) return undefined;
    if (field === 'service') return `${at}/usageType`;
    if (field === 'start' || field === 'startMs') return `${at}/usageDate`;
    const name = field.split('.')[0] as string;
    const index = indexOf.get(name);
    return index === undefined ? field : `${at}/usageCharacteristic/${index}/value`;
  };
  return { record, pointerOf };
}

const TMF_STATUS: Readonly<Record<string, string>> = { unbilled: 'rated', billed: 'billed' };

function ratedAmountJson(amountPico: bigint, currency: string) {
  return RatedAmount.ofPico(amountPico, currency).toJSON();
}

function characteristic(name: string, value: unknown, valueType: string) {
  return { name, value, valueType };
}

/** Our rated record as a TMF635 Usage with its ratedProductUsage; `trace` adds the charge trace. */
function usageToTmf(usage: RatedUsageView, withTrace: boolean): Record<string, unknown> {
  const characteristics = [
    characteristic('identity', usage.identity, 'string'),
    ...(usage.callingNumber !== undefined
      ? [characteristic('callingNumber', usage.callingNumber, 'string')]
      : []),
    ...(usage.calledNumber !== undefined
      ? [characteristic('calledNumber', usage.calledNumber, 'string')]
      : []),
    characteristic('durationSec', usage.durationSec, 'integer'),
    characteristic('volumeUpBytes', usage.volumeUpBytes, 'integer'),
    characteristic('volumeDownBytes', usage.volumeDownBytes, 'integer'),
    characteristic('count', usage.eventCount, 'integer'),
    ...(usage.apn !== undefined ? [characteristic('apn', usage.apn, 'string')] : []),
    ...(usage.ratingGroup !== undefined ? [characteristic('ratingGroup', usage.ratingGroup, 'integer')] : []),
    ...(usage.visitedMccMnc !== undefined
      ? [characteristic('visitedMccMnc', usage.visitedMccMnc, 'string')]
      : []),
    characteristic('roaming', usage.roaming, 'boolean'),
    ...(usage.eventType !== undefined ? [characteristic('eventType', usage.eventType, 'string')] : []),
    ...(usage.sourceRecordId !== undefined
      ? [characteristic('sourceRecordId', usage.sourceRecordId, 'string')]
      : []),
  ];
  const amount = ratedAmountJson(usage.amountPico, usage.currency);
  return {
    id: String(usage.id),
    href: `${USAGE_PATH}/${usage.id}`,
    '@type': 'Usage',
    usageDate: usage.startAt,
    usageType: usage.service,
    status: usage.kind === 'rerate' ? 'rerated' : (TMF_STATUS[usage.status] ?? usage.status),
    usageCharacteristic: characteristics,
    relatedParty: [
      {
        id: usage.accountId,
        href: `${ACCOUNT_PATH}/${usage.accountId}`,
        role: 'billingAccount',
        '@referredType': 'BillingAccount',
      },
    ],
    ratedProductUsage: [
      {
        '@type': 'RatedProductUsage',
        ratingDate: usage.ratedAt,
        usageRatingTag: usage.allowanceUnits > 0 && usage.amountPico === 0n ? 'included' : 'usage',
        isBilled: usage.status === 'billed',
        ratingAmountType: 'total',
        taxExcludedRatingAmount: amount,
        currencyCode: usage.currency,
        productRef: {
          id: usage.subscriptionId,
          href: `${PRODUCT_PATH}/${usage.subscriptionId}`,
          '@referredType': 'Product',
        },
        chargedUnits: usage.chargedUnits,
        allowanceUnits: usage.allowanceUnits,
        ...(usage.offerVersionId !== undefined ? { offerVersionId: usage.offerVersionId } : {}),
        ...(usage.tariffVersionId !== undefined ? { tariffVersionId: usage.tariffVersionId } : {}),
        ...(usage.matchedPrefix !== undefined ? { matchedPrefix: usage.matchedPrefix } : {}),
        ...(usage.zone !== undefined ? { zone: usage.zone } : {}),
        ...(usage.band !== undefined ? { band: usage.band } : {}),
      },
    ],
    source: usage.source,
    importId: usage.importId,
    line: usage.line,
    ...(usage.correctsId !== undefined ? { corrects: String(usage.correctsId) } : {}),
    ...(usage.rerateRunId !== undefined ? { rerateRunId: usage.rerateRunId } : {}),
    ...(withTrace ? { chargeTrace: usage.trace } : {}),
  };
}

const USAGE_FIELDS = [
  'id',
  'href',
  '@type',
  'usageDate',
  'usageType',
  'status',
  'usageCharacteristic',
  'relatedParty',
  'ratedProductUsage',
  'source',
  'importId',
  'line',
  'corrects',
  'rerateRunId',
  'chargeTrace',
];

const FIELDS_PATTERN = '^[A-Za-z@][A-Za-z0-9@.]*(,[A-Za-z@][A-Za-z0-9@.]*)*$';
const fieldsQuery = {
  fields: {
    type: 'string',
    maxLength: 500,
    pattern: FIELDS_PATTERN,
    description: 'Comma-separated attributes to return (id and href are always returned)',
  },
} as const;

/** TMF630 attribute selection: only the named attributes, plus id and href. */
function select(resource: Record<string, unknown>, fields: string | undefined): Record<string, unknown> {
  if (fields === undefined) return resource;
  const names = fields.split(',');
  for (const name of names) {
    if (!USAGE_FIELDS.includes(name)) {
      throw fail(
        CommonErrors.invalid_input,
        `/querystring/fields: "${name}" is not an attribute of Usage; choose from ${USAGE_FIELDS.join(', ')}`,
        { field: '/querystring/fields' },
      );
    }
  }
  const out: Record<string, unknown> = { id: resource.id, href: resource.href };
  for (const name of names) if (name in resource) out[name] = resource[name];
  return out;
}

const usageSchema = {
  type: 'object',
  description:
    'A TMF635 Usage as rated: ratedProductUsage[0].taxExcludedRatingAmount is the rated amount with 12 ' +
    'decimals as text; chargeTrace (on GET by id) is how it was priced',
  additionalProperties: true,
  properties: {
    id: { type: 'string', description: 'The rated usage id (64-bit, decimal text)' },
    href: { type: 'string' },
    '@type': { type: 'string' },
    usageDate: { type: 'string' },
    usageType: { type: 'string' },
    status: { type: 'string', description: 'rated, rerated (a re-rating delta) or billed' },
    usageCharacteristic: { type: 'array', items: openObject('name, value, valueType') },
    relatedParty: { type: 'array', items: openObject('The billing account') },
    ratedProductUsage: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: true,
        properties: { taxExcludedRatingAmount: moneySchema, productRef: openObject('The subscription') },
      },
    },
  },
} as const;

// ---------------------------------------------------------------------------------------------
// Views of the other resources

function bigintText(value: bigint | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

function rejectView(reject: RejectRecord) {
  return {
    id: String(reject.id),
    href: `/v1/usage/rejects/${reject.id}`,
    importId: reject.importId,
    source: reject.source,
    line: reject.line,
    byteOffset: reject.byteOffset,
    kind: reject.kind,
    reason: reject.reason,
    ...(reject.field !== undefined ? { field: reject.field } : {}),
    message: reject.message,
    raw: reject.raw,
    eventDay: reject.eventDay,
    status: reject.status,
    attempts: reject.attempts,
    ...(reject.resolvedUsageId !== undefined
      ? {
          resolvedUsageId: bigintText(reject.resolvedUsageId),
          resolvedUsageHref: `${USAGE_PATH}/${reject.resolvedUsageId}`,
        }
      : {}),
    createdAt: reject.createdAt,
    updatedAt: reject.updatedAt,
  };
}

const rejectSchema = {
  type: 'object',
  description: 'A record that was refused (kind reject) or recognised as a duplicate, with its raw text',
  additionalProperties: true,
  properties: {
    id: { type: 'string', description: '64-bit id as decimal text' },
    href: { type: 'string' },
    importId: { type: 'string' },
    source: { type: 'string' },
    line: { type: 'integer' },
    kind: { type: 'string', enum: ['reject', 'duplicate'] },
    reason: { type: 'string' },
    field: { type: 'string' },
    message: { type: 'string' },
    raw: { type: 'string' },
    eventDay: { type: 'string' },
    status: { type: 'string', enum: ['open', 'reprocessed', 'discarded'] },
    attempts: { type: 'integer' },
    resolvedUsageId: { type: 'string' },
  },
} as const;

function importView(record: ImportRecord) {
  return { ...record, href: `/v1/usage/imports/${record.id}` };
}

const controlsSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    recordsIn: { type: 'integer' },
    rated: { type: 'integer' },
    rejected: { type: 'integer' },
    duplicates: { type: 'integer' },
  },
} as const;

const importSchema = {
  type: 'object',
  description:
    'A usage import (a file, or the records of one source and UTC day that arrived one by one): records in = rated + rejected + duplicates',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    href: { type: 'string' },
    source: { type: 'string' },
    fileName: { type: 'string' },
    status: { type: 'string', enum: ['running', 'completed', 'failed'] },
    ...controlsSchema.properties,
  },
} as const;

function sourceView(record: SourceRecord) {
  return {
    id: record.definition.name,
    href: `/v1/usage/sources/${record.definition.name}`,
    sourceId: record.id,
    definition: record.definition,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
  };
}

const sourceSchema = {
  type: 'object',
  description: 'A usage source: its name (the id in paths) and its validated definition, defaults filled in',
  additionalProperties: true,
  properties: {
    id: { type: 'string', description: 'The name' },
    href: { type: 'string' },
    definition: openObject('See docs/usage-formats.md'),
  },
} as const;

/** The definition body of PUT /v1/usage/sources/{name}: everything but the name, which the path gives. */
const sourceDefinitionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['format', 'numbering'],
  description:
    'A source definition (docs/usage-formats.md). Checked in full by the server, every problem naming its field.',
  properties: {
    name: { type: 'string', description: 'Optional; must equal the name in the path' },
    // `api` first: the simplest valid definition is an API source.
    format: { type: 'string', enum: ['api', ...SOURCE_FORMATS.filter((f) => f !== 'api')] },
    timeZone: { type: 'string', description: 'IANA time zone of local times in records (default UTC)' },
    numbering: {
      type: 'object',
      description: 'countryCode ("49"), nationalPrefix ("0"), internationalPrefixes (["00"])',
      additionalProperties: false,
      required: ['countryCode'],
      properties: {
        countryCode: { type: 'string' },
        nationalPrefix: { type: 'string' },
        internationalPrefixes: { type: 'array', maxItems: 10, items: { type: 'string' } },
      },
    },
    identityType: { type: 'string', description: 'msisdn (default), imsi, ...' },
    mapping: { description: 'The column mapping (csv, tsv) or reader options (switch formats)' },
    bounds: openObject('maxDurationSec, maxVolumeBytes, maxCount, futureToleranceSec'),
    dedup: openObject('mode (record-id, fingerprint), fingerprint, windowDays'),
    inbox: { type: 'string', description: 'A directory watched for files of this source' },
  },
} as const;

// ---------------------------------------------------------------------------------------------
// Outcomes of ingestion

type ItemResult = IngestOutcome['results'][number];

interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly location?: string;
}

/** 201 with the rated Usage, or the 422 / 409 problem of a rejected or duplicate record. */
async function answerForOne(
  app: App,
  tenantId: string,
  result: ItemResult | undefined,
  converted: Converted,
): Promise<Answer> {
  if (result === undefined) throw new Error('the pipeline answered no result for the record');
  if (result.kind === 'rated') {
    const usage = await getRatedUsage(app, tenantId, result.usageId);
    const body = usageToTmf(usage, false);
    return { status: 201, body, location: body.href as string };
  }
  const rejectId = String(result.rejectId);
  const reject = await getReject(app, tenantId, result.rejectId);
  const field = converted.pointerOf(reject.field);
  const extra = {
    rejectId,
    rejectHref: `/v1/usage/rejects/${rejectId}`,
    reason: result.reason,
  };
  if (result.kind === 'duplicate') {
    throw fail(UsageApiErrors.record_duplicate, result.message, {
      record: rejectId,
      ...(field !== undefined ? { field } : {}),
      extra,
    });
  }
  throw fail(UsageApiErrors.record_rejected, result.message, {
    record: rejectId,
    ...(field !== undefined ? { field } : {}),
    extra,
  });
}

function bulkResult(result: ItemResult, index: number) {
  if (result.kind === 'rated') {
    return {
      index,
      outcome: 'rated',
      id: String(result.usageId),
      href: `${USAGE_PATH}/${result.usageId}`,
      amount: ratedAmountJson(result.amountPico, result.currency),
    };
  }
  return {
    index,
    outcome: result.kind === 'duplicate' ? 'duplicate' : 'rejected',
    rejectId: String(result.rejectId),
    rejectHref: `/v1/usage/rejects/${result.rejectId}`,
    reason: result.reason,
    message: result.message,
  };
}

// ---------------------------------------------------------------------------------------------
// Ingestion before the idempotent transaction (see the header comment)

const answers = new WeakMap<FastifyRequest, Answer>();

/**
 * A preHandler that does the ingestion of a request, unless its Idempotency-Key already has a
 * stored response (the server then replays or refuses it without calling the handler). The handler
 * only sends what was stashed, so the server stores that with the key.
 */
function ingestFirst(app: App, work: (request: FastifyRequest) => Promise<Answer>) {
  return async (request: FastifyRequest): Promise<void> => {
    const key = idempotencyKeyOf(request);
    if (key !== undefined && (await idempotencyKeyUsed(app, principalOf(request).tenantId, key))) return;
    answers.set(request, await work(request));
  };
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const header = request.headers['idempotency-key'];
  return header === undefined ? undefined : Array.isArray(header) ? header.join(',') : header;
}

/** A malformed Idempotency-Key is refused before the body is read or anything is ingested. */
async function checkIdempotencyKey(request: FastifyRequest): Promise<void> {
  const key = idempotencyKeyOf(request);
  if (key !== undefined) validateIdempotencyKey(key);
}

function sendStashed(request: FastifyRequest, reply: FastifyReply): unknown {
  const answer = answers.get(request);
  if (answer === undefined) {
    // The key's first request stored its response between the preHandler's look and now.
    throw fail(CommonErrors.conflict, 'a request with this Idempotency-Key finished meanwhile; retry it', {
      field: 'Idempotency-Key',
    });
  }
  if (answer.location !== undefined) reply.header('location', answer.location);
  reply.code(answer.status);
  return answer.body;
}

// ---------------------------------------------------------------------------------------------
// Uploads: the body streamed to a temporary file by the content-type parser

/** An uploaded file on disk. Only its checksum and size are enumerable: they are what Idempotency-Key hashes. */
class UploadedFile {
  readonly #directory: string;
  readonly #path: string;
  constructor(
    directory: string,
    path: string,
    readonly sha256: string,
    readonly sizeBytes: number,
  ) {
    this.#directory = directory;
    this.#path = path;
  }
  get path(): string {
    return this.#path;
  }
  remove(): Promise<void> {
    return rm(this.#directory, { recursive: true, force: true });
  }
}

async function streamToTempFile(payload: NodeJS.ReadableStream, limitBytes: number): Promise<UploadedFile> {
  const directory = await mkdtemp(join(tmpdir(), 'tollgate-upload-'));
  const path = join(directory, 'upload');
  const hash = createHash('sha256');
  let size = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > limitBytes) {
        done(
          fail(CommonErrors.payload_too_large, `the upload is larger than ${limitBytes} bytes`, {
            field: '/body',
          }),
        );
        return;
      }
      hash.update(chunk);
      done(null, chunk);
    },
  });
  try {
    await pipeline(payload, counter, createWriteStream(path));
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  return new UploadedFile(directory, path, hash.digest('hex'), size);
}

const UPLOAD_TYPES = ['text/csv', 'text/plain', 'application/octet-stream'];

function uploadRoutes(app: App, limitBytes: number): FastifyPluginAsync {
  return async (server) => {
    // Only this plugin reads raw bodies: everywhere else the API speaks JSON.
    server.addContentTypeParser(
      UPLOAD_TYPES,
      async (request: FastifyRequest, payload: NodeJS.ReadableStream) => {
        const length = Number(request.headers['content-length'] ?? '0');
        if (length > limitBytes) {
          throw fail(CommonErrors.payload_too_large, `the upload is larger than ${limitBytes} bytes`, {
            field: '/body',
          });
        }
        return streamToTempFile(payload, limitBytes);
      },
    );
    server.addHook('onResponse', async (request) => {
      if (request.body instanceof UploadedFile) await request.body.remove();
    });

    server.post(
      '/v1/usage/uploads',
      {
        config: { access: { roles: INGEST } },
        bodyLimit: limitBytes,
        onRequest: checkIdempotencyKey,
        preHandler: ingestFirst(app, async (request) => {
          const body = request.body;
          if (!(body instanceof UploadedFile)) {
            throw fail(
              CommonErrors.unsupported_media_type,
              `send the usage file itself as ${UPLOAD_TYPES.join(', ')}`,
              { field: 'Content-Type' },
            );
          }
          const q = request.query as { source?: string; fileName?: string; force?: boolean };
          if (q.source === undefined) {
            throw fail(
              CommonErrors.invalid_input,
              '/querystring/source is required: the source whose file this is',
              {
                field: '/querystring/source',
              },
            );
          }
          const result = await importUsageFile(app, callerOf(request), {
            source: q.source,
            path: body.path,
            fileName: q.fileName ?? `upload-${body.sha256.slice(0, 12)}`,
            ...(q.force === true ? { force: true } : {}),
          });
          return {
            status: 201,
            location: `/v1/usage/imports/${result.import.id}`,
            body: {
              import: importView(result.import),
              resumed: result.resumed,
              controls: result.controls.map((c) => ({
                ...c,
                balanced: c.recordsIn === c.rated + c.rejected + c.duplicates,
              })),
            },
          };
        }),
        schema: {
          tags: ['usage'],
          summary:
            'Upload a usage file of a source: imported at once, answered with the import and its controls',
          description:
            'The body is the raw file (Content-Type text/csv, text/plain or application/octet-stream), streamed ' +
            'to a temporary file, never held in memory; at most 1 GiB. The import runs before the answer: ' +
            'a file whose checksum was imported already is refused (409 usage.already_imported) unless ' +
            '`force=true`; an interrupted import of the same file resumes where it stopped. When the database ' +
            'fails mid-import the answer is 503 usage.import_interrupted: send the same file again to resume.',
          consumes: UPLOAD_TYPES,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              source: {
                type: 'string',
                pattern: SOURCE_NAME,
                description: 'The source whose format the file has',
              },
              fileName: {
                type: 'string',
                minLength: 1,
                maxLength: 200,
                description: 'The name recorded for the file',
              },
              force: {
                type: 'boolean',
                description: 'Import a file again although its checksum was imported',
              },
            },
          },
          body: { description: 'The raw usage file (not JSON)' },
          response: {
            201: {
              type: 'object',
              properties: {
                import: importSchema,
                resumed: { type: 'boolean' },
                controls: {
                  type: 'array',
                  items: {
                    ...controlsSchema,
                    properties: {
                      ...controlsSchema.properties,
                      eventDay: { type: 'string' },
                      balanced: { type: 'boolean' },
                    },
                  },
                },
              },
            },
            413: { $ref: 'Problem#' },
            415: { $ref: 'Problem#' },
            ...problemResponses,
          },
        },
      },
      sendStashed,
    );
  };
}

// ---------------------------------------------------------------------------------------------
// Routes

export interface UsageRouteOptions {
  /** The largest accepted upload (default 1 GiB). */
  readonly uploadLimitBytes?: number;
}

export function usageRoutes(app: App, options: UsageRouteOptions = {}): FastifyPluginAsync {
  return async (server: FastifyInstance) => {
    const tags = ['TMF635 usage'];
    const v1 = ['usage'];

    // ---- TMF635: one record ------------------------------------------------------------------
    server.post(
      USAGE_PATH,
      {
        config: { access: { roles: INGEST } },
        onRequest: checkIdempotencyKey,
        preHandler: ingestFirst(app, async (request) => {
          const { source } = request.query as { source: string };
          const converted = convertUsage(request.body as UsageIn, '/body');
          const outcome = await ingestJsonRecords(
            app,
            callerOf(request),
            source,
            [converted.record],
            ['api'],
          );
          return answerForOne(app, principalOf(request).tenantId, outcome.results[0], converted);
        }),
        schema: {
          tags,
          summary: 'Send one usage record (TMF635): rated at once',
          description:
            'Answers 201 with the rated Usage; 422 usage.record_rejected (rejectId, reason, field) when the record ' +
            'is refused (it is stored as a reject, to correct and reprocess); 409 usage.record_duplicate when it ' +
            'duplicates a record already accounted for. The source (default `api`, format api) must be defined.',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: sourceQuery(
              'api',
              'The usage source (format api) whose numbering plan reads the record',
            ),
          },
          body: usageInputSchema,
          response: { 201: usageSchema, ...problemResponses },
        },
      },
      sendStashed,
    );

    // ---- TMF635: many records ----------------------------------------------------------------
    server.post(
      `${USAGE_PATH}/bulk`,
      {
        config: { access: { roles: INGEST } },
        // 10 000 records of a few hundred bytes each.
        bodyLimit: BULK_BODY_LIMIT_BYTES,
        onRequest: checkIdempotencyKey,
        preHandler: ingestFirst(app, async (request) => {
          const { source } = request.query as { source: string };
          const body = request.body as { usage: UsageIn[] };
          const converted = body.usage.map((usage, i) => convertUsage(usage, `/body/usage/${i}`));
          const outcome = await ingestJsonRecords(
            app,
            callerOf(request),
            source,
            converted.map((c) => c.record),
            ['api'],
          );
          return {
            status: 200,
            body: {
              recordsIn: outcome.recordsIn,
              rated: outcome.rated,
              rejected: outcome.rejected,
              duplicates: outcome.duplicates,
              results: outcome.results.map((result, i) => bulkResult(result, i)),
            },
          };
        }),
        schema: {
          tags,
          summary: 'Send up to 10 000 usage records (Tollgate extension of TMF635): where each one ended',
          description:
            'The records are processed as one batch. Each result names its index and outcome: rated (id, href, ' +
            'amount), rejected (rejectId, reason, message) or duplicate (rejectId). A body that does not validate ' +
            'is refused as a whole (400, naming the field).',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: sourceQuery('api', 'The usage source (format api)'),
          },
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['usage'],
            properties: {
              usage: { type: 'array', minItems: 1, maxItems: BULK_MAX, items: usageInputSchema },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                recordsIn: { type: 'integer' },
                rated: { type: 'integer' },
                rejected: { type: 'integer' },
                duplicates: { type: 'integer' },
                results: {
                  type: 'array',
                  items: {
                    type: 'object',
                    properties: {
                      index: { type: 'integer' },
                      outcome: { type: 'string', enum: ['rated', 'rejected', 'duplicate'] },
                      id: { type: 'string' },
                      href: { type: 'string' },
                      amount: moneySchema,
                      rejectId: { type: 'string' },
                      rejectHref: { type: 'string' },
                      reason: { type: 'string' },
                      message: { type: 'string' },
                    },
                  },
                },
              },
            },
            ...problemResponses,
          },
        },
      },
      sendStashed,
    );

    // ---- TMF635: reading ---------------------------------------------------------------------
    server.get(
      USAGE_PATH,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'List rated usage (TMF635), oldest first, with filters and keyset paging',
          description:
            'A JSON array with X-Result-Count; when the page is full, X-Next-Cursor holds the `after` of the next page.',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              limit: limitQuery(1000, 100),
              after: {
                type: 'string',
                pattern: DECIMAL_ID,
                description: 'Cursor: X-Next-Cursor of the previous page',
              },
              ...fieldsQuery,
              'product.id': { type: 'string', minLength: 1, maxLength: 100, description: 'The subscription' },
              'billingAccount.id': {
                type: 'string',
                minLength: 1,
                maxLength: 100,
                description: 'The billing account',
              },
              usageType: { type: 'string', enum: USAGE_SERVICES },
              'usageDate.gte': { ...instantSchema, description: 'Usage that started at or after' },
              'usageDate.lt': { ...instantSchema, description: 'Usage that started before' },
              status: { type: 'string', enum: ['rated', 'rerated', 'billed'] },
              importId: { type: 'string', minLength: 1, maxLength: 100 },
            },
          },
          response: { 200: { type: 'array', items: usageSchema }, ...problemResponses },
        },
      },
      async (request, reply) => {
        const q = request.query as {
          limit: number;
          after?: string;
          fields?: string;
          'product.id'?: string;
          'billingAccount.id'?: string;
          usageType?: string;
          'usageDate.gte'?: string;
          'usageDate.lt'?: string;
          status?: 'rated' | 'rerated' | 'billed';
          importId?: string;
        };
        const instant = (value: string | undefined, name: string) => {
          if (value === undefined) return undefined;
          const parsed = parseInstant(value);
          if (parsed === undefined) {
            throw fail(
              CommonErrors.invalid_input,
              `/querystring/${name} is not a date-time this server can read`,
              {
                field: `/querystring/${name}`,
              },
            );
          }
          return parsed;
        };
        const from = instant(q['usageDate.gte'], 'usageDate.gte');
        const to = instant(q['usageDate.lt'], 'usageDate.lt');
        const status =
          q.status === 'rated'
            ? { status: 'unbilled', kind: 'original' as const }
            : q.status === 'rerated'
              ? { kind: 'rerate' as const }
              : q.status === 'billed'
                ? { status: 'billed' }
                : {};
        const rows = await listRatedUsage(app, principalOf(request).tenantId, {
          limit: q.limit,
          ...(q.after !== undefined ? { after: BigInt(q.after) } : {}),
          ...(q['product.id'] !== undefined ? { subscriptionId: q['product.id'] } : {}),
          ...(q['billingAccount.id'] !== undefined ? { accountId: q['billingAccount.id'] } : {}),
          ...(q.usageType !== undefined ? { service: q.usageType } : {}),
          ...(from !== undefined ? { from } : {}),
          ...(to !== undefined ? { to } : {}),
          ...(q.importId !== undefined ? { importId: q.importId } : {}),
          ...status,
        });
        reply.header('x-result-count', String(rows.length));
        if (rows.length === q.limit) reply.header('x-next-cursor', String(rows[rows.length - 1]!.id));
        return rows.map((row) => select(usageToTmf(row, false), q.fields));
      },
    );

    server.get(
      `${USAGE_PATH}/:id`,
      {
        config: { access: { roles: READ } },
        schema: {
          tags,
          summary: 'Read one rated usage (TMF635) with its rated amount and charge trace',
          params: decimalIdParams('usage', 'The rated usage id (decimal text)'),
          querystring: { type: 'object', additionalProperties: false, properties: { ...fieldsQuery } },
          response: { 200: usageSchema, ...problemResponses },
        },
      },
      async (request) => {
        const { fields } = request.query as { fields?: string };
        const usage = await getRatedUsage(app, principalOf(request).tenantId, BigInt(idOf(request)));
        return select(usageToTmf(usage, true), fields);
      },
    );

    server.get(
      '/v1/usage/rated/:id/explanation',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'Explain a rated usage: the record, how it was priced, and what re-rating changed since',
          params: decimalIdParams('usage', 'The rated usage id (decimal text)'),
          response: {
            200: {
              type: 'object',
              properties: {
                usage: usageSchema,
                corrections: { type: 'array', items: usageSchema },
                netAmount: moneySchema,
                lines: { type: 'array', items: { type: 'string' } },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const explanation = await explainUsage(app, principalOf(request).tenantId, BigInt(idOf(request)));
        return {
          usage: usageToTmf(explanation.usage, true),
          corrections: explanation.corrections.map((c) => usageToTmf(c, true)),
          netAmount: ratedAmountJson(explanation.netAmountPico, explanation.usage.currency),
          lines: explanation.lines,
        };
      },
    );

    server.post(
      '/v1/usage/rerate',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary:
            'Re-rate the usage of a subscription, an account or a whole period in [from, to) against the catalog as it is now',
          description:
            'Writes a delta record where a net charge changes; history is never rewritten, and a second run ' +
            'writes nothing. Re-rate whole allowance periods (a bill cycle).',
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['from', 'to'],
            properties: {
              subscriptionId: {
                type: 'string',
                minLength: 1,
                maxLength: 100,
                description: 'The subscription (or accountId)',
              },
              accountId: { type: 'string', minLength: 1, maxLength: 100, description: 'The billing account' },
              from: { ...instantSchema, description: 'Inclusive' },
              to: { ...instantSchema, description: 'Exclusive' },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                runId: { type: 'string' },
                examined: { type: 'integer' },
                deltas: { type: 'integer' },
                unchanged: { type: 'integer' },
                failed: { type: 'integer' },
                netChange: { type: 'array', items: moneySchema },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const body = request.body as {
          subscriptionId?: string;
          accountId?: string;
          from: string;
          to: string;
        };
        for (const name of ['from', 'to'] as const) {
          if (parseInstant(body[name]) === undefined) {
            throw fail(CommonErrors.invalid_input, `/body/${name} is not a date-time this server can read`, {
              field: `/body/${name}`,
            });
          }
        }
        if (body.subscriptionId === undefined && body.accountId === undefined) {
          throw fail(CommonErrors.invalid_input, '/body/subscriptionId or /body/accountId is required', {
            field: '/body/subscriptionId',
          });
        }
        const result = await rerateUsage(app, callerOf(request), body);
        return {
          ...result,
          netChange: result.netChange.map((n) => ratedAmountJson(n.amountPico, n.currency)),
        };
      },
    );

    // ---- FreeSWITCH mod_json_cdr -------------------------------------------------------------
    server.post(
      '/v1/usage/freeswitch/json-cdr',
      {
        config: { access: { roles: INGEST } },
        onRequest: checkIdempotencyKey,
        preHandler: ingestFirst(app, async (request) => {
          const { source } = request.query as { source: string };
          const outcome = await ingestFreeswitchJsonCdr(app, callerOf(request), source, request.body);
          const result = outcome.results[0];
          if (result === undefined) throw new Error('the pipeline answered no result for the CDR');
          return { status: 200, body: bulkResult(result, 0) };
        }),
        schema: {
          tags: v1,
          summary: 'Receive one FreeSWITCH mod_json_cdr document: 200 once stored, rated or rejected',
          description:
            'Point mod_json_cdr at this URL (with an API key header and `encode` false). A CDR that cannot be ' +
            'rated is stored as a reject and still answered 200, since mod_json_cdr would retry anything else. ' +
            "The document is FreeSWITCH's own: its fields are not validated beyond being an object.",
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: sourceQuery('freeswitch', 'The usage source (format freeswitch-json)'),
          },
          body: {
            type: 'object',
            additionalProperties: false,
            description:
              "The JSON CDR as FreeSWITCH writes it; its top-level members are known, their contents are FreeSWITCH's",
            properties: {
              'core-uuid': { type: 'string' },
              switchname: { type: 'string' },
              channel_data: openObject('Channel state'),
              'call-stats': openObject('Media statistics'),
              variables: openObject(
                'Channel variables: uuid, caller_id_number, destination_number, answer_epoch, billsec...',
              ),
              app_log: openObject('Dialplan applications run'),
              callflow: { type: ['array', 'object'], description: 'Caller profiles' },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                outcome: { type: 'string', enum: ['rated', 'rejected', 'duplicate'] },
                id: { type: 'string' },
                href: { type: 'string' },
                amount: moneySchema,
                rejectId: { type: 'string' },
                rejectHref: { type: 'string' },
                reason: { type: 'string' },
                message: { type: 'string' },
              },
            },
            ...problemResponses,
          },
        },
      },
      sendStashed,
    );

    // ---- Uploads (raw bodies, in their own plugin) -------------------------------------------
    await server.register(uploadRoutes(app, options.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT_BYTES));

    // ---- Imports and controls ----------------------------------------------------------------
    server.get(
      '/v1/usage/imports',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'List usage imports (files and daily record streams), oldest first',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              limit: limitQuery(500, 50),
              after: {
                type: 'string',
                maxLength: 100,
                description: 'Cursor: the nextCursor of the previous page',
              },
              source: { type: 'string', pattern: SOURCE_NAME },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                items: { type: 'array', items: importSchema },
                nextCursor: { type: ['string', 'null'] },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const q = request.query as { limit: number; after?: string; source?: string };
        const items = await listImports(app, principalOf(request).tenantId, {
          limit: q.limit,
          ...(q.after !== undefined ? { after: q.after } : {}),
          ...(q.source !== undefined ? { source: q.source } : {}),
        });
        return {
          items: items.map(importView),
          nextCursor: items.length === q.limit ? items[items.length - 1]!.id : null,
        };
      },
    );

    server.get(
      '/v1/usage/imports/:id',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'Read a usage import with its control counts per event day',
          params: idParams('imp'),
          response: {
            200: {
              type: 'object',
              properties: {
                import: importSchema,
                controls: {
                  type: 'array',
                  items: {
                    ...controlsSchema,
                    properties: { ...controlsSchema.properties, eventDay: { type: 'string' } },
                  },
                },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const tenantId = principalOf(request).tenantId;
        const record = await getImport(app, tenantId, idOf(request));
        const controls = await listControls(app, tenantId, { importId: record.id });
        return { import: importView(record), controls };
      },
    );

    server.get(
      '/v1/usage/controls',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary:
            'Control counts per event day over all imports: records in = rated + rejected + duplicates',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              from: { type: 'string', pattern: DAY, description: 'First event day (YYYY-MM-DD, UTC)' },
              to: {
                type: 'string',
                pattern: DAY,
                description: 'Last event day (YYYY-MM-DD, UTC), inclusive',
              },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                days: {
                  type: 'array',
                  items: {
                    ...controlsSchema,
                    properties: {
                      ...controlsSchema.properties,
                      eventDay: { type: 'string' },
                      balanced: { type: 'boolean' },
                    },
                  },
                },
                balanced: { type: 'boolean', description: 'Every day balances' },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const q = request.query as { from?: string; to?: string };
        const days = await dailyControls(app, principalOf(request).tenantId, {
          ...(q.from !== undefined ? { fromDay: q.from } : {}),
          ...(q.to !== undefined ? { toDay: q.to } : {}),
        });
        days.sort((a, b) => a.eventDay.localeCompare(b.eventDay));
        return { days, balanced: days.every((d) => d.balanced) };
      },
    );

    // ---- Rejects -----------------------------------------------------------------------------
    server.get(
      '/v1/usage/rejects',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'List rejects and duplicates, oldest first',
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              limit: limitQuery(500, 50),
              after: {
                type: 'string',
                pattern: DECIMAL_ID,
                description: 'Cursor: the nextCursor of the previous page',
              },
              status: { type: 'string', enum: ['open', 'reprocessed', 'discarded'] },
              kind: { type: 'string', enum: ['reject', 'duplicate'] },
              reason: { type: 'string', enum: [...REJECT_REASONS, 'duplicate'] },
              source: { type: 'string', pattern: SOURCE_NAME },
              importId: { type: 'string', minLength: 1, maxLength: 100 },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                items: { type: 'array', items: rejectSchema },
                nextCursor: { type: ['string', 'null'] },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const q = request.query as {
          limit: number;
          after?: string;
          status?: 'open' | 'reprocessed' | 'discarded';
          kind?: 'reject' | 'duplicate';
          reason?: string;
          source?: string;
          importId?: string;
        };
        const items = await listRejects(app, principalOf(request).tenantId, {
          limit: q.limit,
          ...(q.after !== undefined ? { after: BigInt(q.after) } : {}),
          ...(q.status !== undefined ? { status: q.status } : {}),
          ...(q.kind !== undefined ? { kind: q.kind } : {}),
          ...(q.reason !== undefined ? { reason: q.reason } : {}),
          ...(q.source !== undefined ? { source: q.source } : {}),
          ...(q.importId !== undefined ? { importId: q.importId } : {}),
        });
        return {
          items: items.map(rejectView),
          nextCursor: items.length === q.limit ? String(items[items.length - 1]!.id) : null,
        };
      },
    );

    server.get(
      '/v1/usage/rejects/:id',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'Read a reject with its reason and raw record',
          params: decimalIdParams('reject', 'The reject id (decimal text)'),
          response: { 200: rejectSchema, ...problemResponses },
        },
      },
      async (request) =>
        rejectView(await getReject(app, principalOf(request).tenantId, BigInt(idOf(request)))),
    );

    server.post(
      '/v1/usage/rejects/:id/correct',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary: "Replace an open reject's raw record with a corrected one (then reprocess it)",
          params: decimalIdParams('reject', 'The reject id (decimal text)'),
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['raw'],
            properties: {
              raw: {
                type: 'string',
                minLength: 1,
                maxLength: 1_048_576,
                description: 'The record as its source writes it (a CSV line, a JSON line...)',
              },
            },
          },
          response: { 200: rejectSchema, ...problemResponses },
        },
      },
      async (request) => {
        const { raw } = request.body as { raw: string };
        return rejectView(await correctReject(app, callerOf(request), BigInt(idOf(request)), raw));
      },
    );

    server.post(
      '/v1/usage/rejects/:id/discard',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary: 'Close an open reject without rating it (test traffic, say); it stays counted as a reject',
          params: decimalIdParams('reject', 'The reject id (decimal text)'),
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['reason'],
            properties: {
              reason: {
                type: 'string',
                minLength: 1,
                maxLength: 500,
                description: 'Why, for the audit trail',
              },
            },
          },
          response: { 200: rejectSchema, ...problemResponses },
        },
      },
      async (request) => {
        const tenantId = principalOf(request).tenantId;
        const id = BigInt(idOf(request));
        const { reason } = request.body as { reason: string };
        await discardReject(app, callerOf(request), id, reason);
        return rejectView(await getReject(app, tenantId, id));
      },
    );

    server.post(
      '/v1/usage/rejects/reprocess',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary: 'Run open rejects (filtered) through mediation and rating again',
          description:
            'A reject that is rated now is marked reprocessed and its counts move from rejected to rated in the ' +
            'import it came with: a record counts once.',
          body: {
            type: 'object',
            additionalProperties: false,
            properties: {
              reason: { type: 'string', enum: [...REJECT_REASONS, 'duplicate'] },
              kind: { type: 'string', enum: ['reject', 'duplicate'] },
              source: { type: 'string', pattern: SOURCE_NAME },
              importId: { type: 'string', minLength: 1, maxLength: 100 },
              ids: { type: 'array', maxItems: 10_000, items: { type: 'string', pattern: DECIMAL_ID } },
              limit: { type: 'integer', minimum: 1, maximum: 1_000_000 },
            },
          },
          response: {
            200: {
              type: 'object',
              properties: {
                attempted: { type: 'integer' },
                rated: { type: 'integer' },
                stillRejected: { type: 'integer' },
                duplicates: { type: 'integer' },
              },
            },
            ...problemResponses,
          },
        },
      },
      async (request) => {
        const body = request.body as {
          reason?: string;
          kind?: 'reject' | 'duplicate';
          source?: string;
          importId?: string;
          ids?: string[];
          limit?: number;
        };
        return reprocessRejects(app, callerOf(request), {
          ...(body.reason !== undefined ? { reason: body.reason } : {}),
          ...(body.kind !== undefined ? { kind: body.kind } : {}),
          ...(body.source !== undefined ? { source: body.source } : {}),
          ...(body.importId !== undefined ? { importId: body.importId } : {}),
          ...(body.ids !== undefined ? { ids: body.ids.map((id) => BigInt(id)) } : {}),
          ...(body.limit !== undefined ? { limit: body.limit } : {}),
        });
      },
    );

    // ---- Sources -----------------------------------------------------------------------------
    server.get(
      '/v1/usage/sources',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'List usage sources',
          response: {
            200: { type: 'object', properties: { items: { type: 'array', items: sourceSchema } } },
            ...problemResponses,
          },
        },
      },
      async (request) => ({ items: (await listSources(app, principalOf(request).tenantId)).map(sourceView) }),
    );

    server.get(
      '/v1/usage/sources/:id',
      {
        config: { access: { roles: READ } },
        schema: {
          tags: v1,
          summary: 'Read a usage source by name',
          params: sourceParams,
          response: { 200: sourceSchema, ...problemResponses },
        },
      },
      async (request) => sourceView(await getSource(app, principalOf(request).tenantId, idOf(request))),
    );

    server.put(
      '/v1/usage/sources/:id',
      {
        config: { access: { roles: WRITE } },
        schema: {
          tags: v1,
          summary: 'Create or replace a usage source (201 when created, 200 when replaced)',
          params: sourceParams,
          body: sourceDefinitionSchema,
          response: { 200: sourceSchema, 201: sourceSchema, ...problemResponses },
        },
      },
      async (request, reply) => {
        const name = idOf(request);
        const body = request.body as Partial<SourceDefinition> & Record<string, unknown>;
        if (body.name !== undefined && body.name !== name) {
          throw fail(
            CommonErrors.invalid_input,
            `/body/name ${body.name} differs from the name in the path, ${name}`,
            {
              field: '/body/name',
            },
          );
        }
        const { source, created } = await renamingSourceFields(
          defineSource(app, callerOf(request), { ...body, name }),
        );
        if (created) reply.code(201).header('location', `/v1/usage/sources/${name}`);
        return sourceView(source);
      },
    );
  };
}

const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

/** A source definition problem names `numbering.countryCode`; the API names `/body/numbering/countryCode`. */
async function renamingSourceFields<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (
      isTollgateError(error) &&
      error.definition === UsageErrors.invalid_source &&
      error.field !== undefined &&
      !error.field.startsWith('/')
    ) {
      throw fail(UsageErrors.invalid_source, error.message, {
        field: `/body/${error.field.replace(/\./g, '/')}`,
        ...(error.record !== undefined ? { record: error.record } : {}),
      });
    }
    throw error;
  }
}
