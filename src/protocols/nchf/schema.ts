/**
 * JSON Schemas of the Nchf_ConvergedCharging request bodies, compiled once when this module loads,
 * and the translation of their violations into TS 29.571 ProblemDetails (status 400, a TS 29.500
 * cause, and one `invalidParams` entry per offending attribute, named by its JSON pointer).
 *
 * What is checked, and why it differs from the project's REST API (src/api/validation.ts):
 * - Types are strict (no coercion: "12" is not 12) and every error is reported, as there.
 * - Unknown attributes are let through, not refused. TS 29.501 clause 5.2.6 lets a newer consumer
 *   send attributes an older producer does not know, and the producer ignores them; refusing them
 *   would break charging whenever an SMF is upgraded. The typed subset (model.ts) is all the core
 *   reads.
 * - Uint32 fields are integers in 0 ..= 4 294 967 295. Uint64 fields (volumes) are integers in
 *   0 ..= 2^53 − 1: JSON.parse turns larger literals into inexact doubles (18446744073709551615
 *   becomes 18446744073709551616), so the schema refuses them rather than charge a rounded volume.
 *   A literal such as `1.0` or `1e3` is the integer it denotes and is accepted; `1.5` and `-1` are not.
 * - Extensible enumerations (trigger types, node functionality, RAT type) accept any non-empty
 *   string; the ones the charging core must understand exactly (quotaManagementIndicator,
 *   oneTimeEventType) accept only the Release 17 values, because charging an unknown mode as if it
 *   were online charging would be wrong in a way nobody notices.
 * - Arrays are bounded (`maxItems`) so a request's cost is bounded before the core sees it.
 *
 * The cause follows TS 29.500: MANDATORY_IE_MISSING when a mandatory attribute is absent,
 * MANDATORY_IE_INCORRECT or OPTIONAL_IE_INCORRECT when a present attribute is wrong (mandatory
 * meaning listed as required by the structure that holds it), INVALID_MSG_FORMAT when the body is
 * not JSON or not an object.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { ChargingDataRequest, ChargingNotifyRequest, InvalidParam, ProblemDetails } from './model.js';
import { problem, type ProtocolError } from './problem.js';

// ajv-formats is CommonJS; its default export arrives wrapped depending on the loader.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

/** The largest integer a JSON number holds exactly: 2^53 − 1 = 9 007 199 254 740 991. */
export const MAX_EXACT_UINT64 = Number.MAX_SAFE_INTEGER;
export const MAX_UINT32 = 4_294_967_295;

/** At most this many `invalidParams` entries are returned; the rest are summarised in `detail`. */
const MAX_INVALID_PARAMS = 32;

const uint32 = { type: 'integer', minimum: 0, maximum: MAX_UINT32 } as const;
const uint64 = { type: 'integer', minimum: 0, maximum: MAX_EXACT_UINT64 } as const;
const durationSec = { type: 'integer', minimum: 0, maximum: MAX_UINT32 } as const;
const dateTime = { type: 'string', format: 'date-time' } as const;
const nfInstanceId = { type: 'string', format: 'uuid' } as const;
const text = { type: 'string', minLength: 1 } as const;
const anyText = { type: 'string' } as const;
/** An object the face keeps as received (a TS 29.571 UserLocation, QoS data). */
const opaqueObject = { type: 'object' } as const;
const array = (items: object, maxItems: number): object => ({ type: 'array', items, maxItems });

/**
 * TS 29.571 Supi or Gpsi with a known prefix. The specification's patterns end in a catch-all
 * (`|.+`); this one does not, because the core must know which kind of identity to look up.
 */
export const SUBSCRIBER_IDENTIFIER_PATTERN =
  '^(imsi-[0-9]{5,15}|msisdn-[0-9]{5,15}|nai-.+|gci-.+|gli-.+|extid-[^@]+@[^@]+)$';

const definitions = {
  plmnId: {
    type: 'object',
    required: ['mcc', 'mnc'],
    properties: {
      mcc: { type: 'string', pattern: '^[0-9]{3}$' },
      mnc: { type: 'string', pattern: '^[0-9]{2,3}$' },
    },
  },
  snssai: {
    type: 'object',
    required: ['sst'],
    properties: {
      sst: { type: 'integer', minimum: 0, maximum: 255 },
      sd: { type: 'string', pattern: '^[A-Fa-f0-9]{6}$' },
    },
  },
  nfIdentification: {
    type: 'object',
    required: ['nodeFunctionality'],
    properties: {
      nodeFunctionality: text,
      nFName: nfInstanceId,
      nFIPv4Address: { type: 'string', format: 'ipv4' },
      nFIPv6Address: { type: 'string', format: 'ipv6' },
      nFPLMNID: { $ref: '#/$defs/plmnId' },
      nFFqdn: text,
    },
  },
  servingNetworkFunctionId: {
    type: 'object',
    required: ['servingNetworkFunctionInformation'],
    properties: {
      servingNetworkFunctionInformation: { $ref: '#/$defs/nfIdentification' },
      aMFId: { type: 'string', pattern: '^[A-Fa-f0-9]{6}$' },
    },
  },
  trigger: {
    type: 'object',
    required: ['triggerType', 'triggerCategory'],
    properties: {
      triggerType: text,
      triggerCategory: text,
      timeLimit: durationSec,
      volumeLimit: uint32,
      volumeLimit64: uint64,
      maxNumberOfccc: uint32,
    },
  },
  triggers: array({ $ref: '#/$defs/trigger' }, 64),
  requestedUnit: {
    type: 'object',
    properties: {
      time: uint32,
      totalVolume: uint64,
      uplinkVolume: uint64,
      downlinkVolume: uint64,
      serviceSpecificUnits: uint64,
    },
  },
  pduContainerInformation: {
    type: 'object',
    properties: {
      timeofFirstUsage: dateTime,
      timeofLastUsage: dateTime,
      qoSInformation: opaqueObject,
      afChargingIdentifier: uint32,
      userLocationInformation: opaqueObject,
      uetimeZone: anyText,
      rATType: text,
      servingNodeID: array({ $ref: '#/$defs/servingNetworkFunctionId' }, 16),
      sponsorIdentity: anyText,
      applicationserviceProviderIdentity: anyText,
      chargingRuleBaseName: anyText,
    },
  },
  usedUnitContainer: {
    type: 'object',
    required: ['localSequenceNumber'],
    properties: {
      serviceId: uint32,
      quotaManagementIndicator: {
        type: 'string',
        enum: ['ONLINE_CHARGING', 'OFFLINE_CHARGING', 'QUOTA_MANAGEMENT_SUSPENDED'],
      },
      triggers: { $ref: '#/$defs/triggers' },
      triggerTimestamp: dateTime,
      time: uint32,
      totalVolume: uint64,
      uplinkVolume: uint64,
      downlinkVolume: uint64,
      serviceSpecificUnits: uint64,
      eventTimeStamps: array(dateTime, 256),
      localSequenceNumber: uint32,
      pDUContainerInformation: { $ref: '#/$defs/pduContainerInformation' },
    },
  },
  multipleUnitUsage: {
    type: 'object',
    required: ['ratingGroup'],
    properties: {
      ratingGroup: uint32,
      requestedUnit: { $ref: '#/$defs/requestedUnit' },
      usedUnitContainer: array({ $ref: '#/$defs/usedUnitContainer' }, 256),
      uPFID: nfInstanceId,
    },
  },
  userInformation: {
    type: 'object',
    properties: {
      servedGPSI: { type: 'string', pattern: '^(msisdn-[0-9]{5,15}|extid-[^@]+@[^@]+)$' },
      servedPEI: text,
      unauthenticatedFlag: { type: 'boolean' },
      roamerInOut: text,
    },
  },
  pduSessionInformation: {
    type: 'object',
    required: ['pduSessionID', 'dnnId'],
    properties: {
      networkSlicingInfo: {
        type: 'object',
        required: ['sNSSAI'],
        properties: { sNSSAI: { $ref: '#/$defs/snssai' } },
      },
      pduSessionID: { type: 'integer', minimum: 0, maximum: 255 },
      pduType: text,
      sscMode: text,
      hPlmnId: { $ref: '#/$defs/plmnId' },
      servingNetworkFunctionID: { $ref: '#/$defs/servingNetworkFunctionId' },
      ratType: text,
      dnnId: text,
      dnnSelectionMode: text,
      chargingCharacteristics: anyText,
      chargingCharacteristicsSelectionMode: text,
      startTime: dateTime,
      stopTime: dateTime,
      sessionStopIndicator: { type: 'boolean' },
      servingCNPlmnId: { $ref: '#/$defs/plmnId' },
    },
  },
  pduSessionChargingInformation: {
    type: 'object',
    required: ['pduSessionInformation'],
    properties: {
      chargingId: uint32,
      homeProvidedChargingId: uint32,
      userInformation: { $ref: '#/$defs/userInformation' },
      userLocationinfo: opaqueObject,
      userLocationTime: dateTime,
      uetimeZone: anyText,
      pduSessionInformation: { $ref: '#/$defs/pduSessionInformation' },
      unitCountInactivityTimer: durationSec,
    },
  },
  roamingQbcInformation: {
    type: 'object',
    properties: {
      multipleQFIcontainer: array(
        {
          type: 'object',
          required: ['localSequenceNumber'],
          properties: {
            triggers: { $ref: '#/$defs/triggers' },
            triggerTimestamp: dateTime,
            time: uint32,
            totalVolume: uint64,
            uplinkVolume: uint64,
            downlinkVolume: uint64,
            localSequenceNumber: uint32,
            qFIContainerInformation: opaqueObject,
          },
        },
        256,
      ),
      uPFID: nfInstanceId,
      roamingChargingProfile: opaqueObject,
    },
  },
  smAddressInfo: {
    type: 'object',
    properties: { sMaddressType: text, sMaddressData: anyText },
  },
  smsChargingInformation: {
    type: 'object',
    properties: {
      originatorInfo: {
        type: 'object',
        properties: {
          originatorSUPI: text,
          originatorGPSI: text,
          originatorOtherAddress: { $ref: '#/$defs/smAddressInfo' },
        },
      },
      recipientInfo: array(
        {
          type: 'object',
          properties: {
            recipientSUPI: text,
            recipientGPSI: text,
            recipientOtherAddress: { $ref: '#/$defs/smAddressInfo' },
          },
        },
        64,
      ),
      userEquipmentInfo: text,
      userLocationinfo: opaqueObject,
      uetimeZone: anyText,
      rATType: text,
      sMSCAddress: anyText,
      sMDataCodingScheme: { type: 'integer' },
      sMMessageType: text,
      numberofMessagesSent: uint32,
      messageSize: uint32,
      submissionTime: dateTime,
    },
  },
  imsChargingInformation: {
    type: 'object',
    properties: {
      roleOfNode: text,
      nodeFunctionality: text,
      callingPartyAddresses: array(text, 16),
      calledPartyAddress: text,
      imsChargingIdentifier: text,
    },
  },
} as const;

/** TS 32.291 ChargingDataRequest, the body of create, update and release. */
export const chargingDataRequestSchema = {
  $id: 'urn:tollgate:nchf:ChargingDataRequest',
  type: 'object',
  required: ['nfConsumerIdentification', 'invocationTimeStamp', 'invocationSequenceNumber'],
  properties: {
    subscriberIdentifier: { type: 'string', pattern: SUBSCRIBER_IDENTIFIER_PATTERN },
    nfConsumerIdentification: { $ref: '#/$defs/nfIdentification' },
    invocationTimeStamp: dateTime,
    invocationSequenceNumber: uint32,
    chargingId: uint32,
    oneTimeEvent: { type: 'boolean' },
    oneTimeEventType: { type: 'string', enum: ['IEC', 'PEC'] },
    notifyUri: { type: 'string', format: 'uri', pattern: '^[Hh][Tt][Tt][Pp][Ss]?://' },
    serviceSpecificationInfo: anyText,
    multipleUnitUsage: array({ $ref: '#/$defs/multipleUnitUsage' }, 256),
    triggers: { $ref: '#/$defs/triggers' },
    pDUSessionChargingInformation: { $ref: '#/$defs/pduSessionChargingInformation' },
    roamingQBCInformation: { $ref: '#/$defs/roamingQbcInformation' },
    sMSChargingInformation: { $ref: '#/$defs/smsChargingInformation' },
    iMSChargingInformation: { $ref: '#/$defs/imsChargingInformation' },
  },
  // A one-time event must say whether it is charged before (IEC) or after (PEC) its delivery:
  // guessing would either debit an event that is not delivered or deliver one that is not paid.
  if: { properties: { oneTimeEvent: { const: true } }, required: ['oneTimeEvent'] },
  then: { properties: { oneTimeEventType: true }, required: ['oneTimeEventType'] },
  $defs: definitions,
} as const;

/** TS 32.291 ChargingNotifyRequest, the body the CHF POSTs to a consumer's notifyUri. */
export const chargingNotifyRequestSchema = {
  $id: 'urn:tollgate:nchf:ChargingNotifyRequest',
  type: 'object',
  required: ['notificationType'],
  properties: {
    notificationType: { type: 'string', enum: ['REAUTHORIZATION', 'ABORT_CHARGING'] },
    reauthorizationDetails: array(
      {
        type: 'object',
        properties: {
          serviceId: uint32,
          ratingGroup: uint32,
          quotaManagementIndicator: {
            type: 'string',
            enum: ['ONLINE_CHARGING', 'OFFLINE_CHARGING', 'QUOTA_MANAGEMENT_SUSPENDED'],
          },
        },
      },
      256,
    ),
  },
} as const;

const ajv = new Ajv({ allErrors: true, coerceTypes: false, useDefaults: false, strict: true });
addFormats(ajv);
const validateChargingData = ajv.compile(chargingDataRequestSchema);
const validateChargingNotify = ajv.compile(chargingNotifyRequestSchema);

/** A validated body, or the 400 problem that says what is wrong with it. */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly status: 400; readonly problem: ProblemDetails };

/** Checks an already parsed body against the ChargingDataRequest schema. */
export function validateChargingDataRequest(body: unknown): Parsed<ChargingDataRequest> {
  if (validateChargingData(body)) return { ok: true, value: body as unknown as ChargingDataRequest };
  return invalid(chargingDataRequestSchema, validateChargingData);
}

/** Checks an already parsed body against the ChargingNotifyRequest schema. */
export function validateChargingNotifyRequest(body: unknown): Parsed<ChargingNotifyRequest> {
  if (validateChargingNotify(body)) return { ok: true, value: body as unknown as ChargingNotifyRequest };
  return invalid(chargingNotifyRequestSchema, validateChargingNotify);
}

/** Parses JSON text and validates it as a ChargingDataRequest. */
export function parseChargingDataRequest(body: string): Parsed<ChargingDataRequest> {
  const parsed = parseJson(body);
  return parsed.ok ? validateChargingDataRequest(parsed.value) : parsed;
}

/** Parses JSON text and validates it as a ChargingNotifyRequest. */
export function parseChargingNotifyRequest(body: string): Parsed<ChargingNotifyRequest> {
  const parsed = parseJson(body);
  return parsed.ok ? validateChargingNotifyRequest(parsed.value) : parsed;
}

/**
 * JSON.parse with the refusals every body gets: empty, not JSON, or holding U+0000 in a string
 * (no legitimate value has one, and PostgreSQL cannot store it in text). The NUL test looks at
 * the text first, a fast native search, and walks the parsed value only when the escape appears.
 */
export function parseJson(body: string): Parsed<unknown> {
  if (body.length === 0) return badFormat('the request body is empty; a ChargingDataRequest is required');
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return badFormat('the request body is not valid JSON');
  }
  if (body.includes('\\u0000')) {
    const at = findNul(value, '');
    if (at !== undefined) {
      return {
        ok: false,
        status: 400,
        problem: problem(400, `${at} must not contain the NUL character (U+0000)`, 'INVALID_MSG_FORMAT', [
          { param: at, reason: 'must not contain the NUL character (U+0000)' },
        ]),
      };
    }
  }
  return { ok: true, value };
}

function badFormat(detail: string): Parsed<never> {
  return { ok: false, status: 400, problem: problem(400, detail, 'INVALID_MSG_FORMAT') };
}

/** Where in `value` a string holds U+0000, as a JSON pointer, or undefined. */
function findNul(value: unknown, pointer: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? pointer : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, item] of Object.entries(value)) {
    if (key.includes('\u0000')) return `${pointer}/${escapePointer(key)}`;
    const found = findNul(item, `${pointer}/${escapePointer(key)}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

const CAUSE_RANK: Readonly<Record<string, number>> = {
  MANDATORY_IE_MISSING: 3,
  MANDATORY_IE_INCORRECT: 2,
  OPTIONAL_IE_INCORRECT: 1,
  INVALID_MSG_FORMAT: 0,
};

/** Turns the validator's errors into the 400 problem: the worst cause, one entry per attribute. */
function invalid(schema: object, validate: ValidateFunction): Parsed<never> {
  const errors = validate.errors ?? [];
  let cause: ProtocolError = 'INVALID_MSG_FORMAT';
  const invalidParams: InvalidParam[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const described = describe(schema, error);
    if (CAUSE_RANK[described.cause]! > CAUSE_RANK[cause]!) cause = described.cause;
    // A value that fails several keywords (type and format, say) is reported once.
    if (described.param === '' || seen.has(described.param)) continue;
    seen.add(described.param);
    if (invalidParams.length < MAX_INVALID_PARAMS) {
      invalidParams.push({ param: described.param, reason: described.reason });
    }
  }
  const first = invalidParams[0];
  const more = seen.size > 1 ? ` (and ${seen.size - 1} more)` : '';
  const detail =
    first === undefined ? 'the request body must be a JSON object' : `${first.param} ${first.reason}${more}`;
  return { ok: false, status: 400, problem: problem(400, detail, cause, invalidParams) };
}

interface Described extends InvalidParam {
  readonly param: string;
  readonly reason: string;
  readonly cause: ProtocolError;
}

function describe(schema: object, error: ErrorObject): Described {
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return {
        param: `${error.instancePath}/${escapePointer(String(params.missingProperty))}`,
        reason: 'is a mandatory IE and is missing',
        cause: 'MANDATORY_IE_MISSING',
      };
    case 'type': {
      const wanted = String(params.type);
      return incorrect(
        schema,
        error,
        wanted === 'integer' ? 'must be an integer' : `must be of type ${wanted}`,
      );
    }
    case 'minimum':
      return incorrect(schema, error, `must be at least ${String(params.limit)}`);
    case 'maximum':
      return incorrect(
        schema,
        error,
        params.limit === MAX_EXACT_UINT64
          ? `must be at most ${MAX_EXACT_UINT64} (2^53 - 1), the largest integer this CHF holds exactly`
          : `must be at most ${String(params.limit)}`,
      );
    case 'enum':
      return incorrect(
        schema,
        error,
        `must be one of ${(params.allowedValues as unknown[]).map(String).join(', ')}`,
      );
    case 'format':
      return incorrect(schema, error, FORMAT_REASONS[String(params.format)] ?? 'has the wrong format');
    case 'pattern':
      return incorrect(schema, error, patternReason(error.schemaPath));
    case 'minLength':
      return incorrect(schema, error, 'must not be empty');
    case 'maxItems':
      return incorrect(schema, error, `must have at most ${String(params.limit)} items`);
    default:
      return incorrect(schema, error, error.message ?? 'is invalid');
  }
}

const FORMAT_REASONS: Readonly<Record<string, string>> = {
  'date-time': 'must be an RFC 3339 date-time with a time zone, e.g. 2026-03-01T10:15:30Z',
  uuid: 'must be an NF instance id (a UUID)',
  ipv4: 'must be an IPv4 address',
  ipv6: 'must be an IPv6 address',
  uri: 'must be an absolute URI',
};

function patternReason(schemaPath: string): string {
  if (schemaPath.startsWith('#/properties/subscriberIdentifier/')) {
    return 'must be a SUPI or GPSI: imsi-<5 to 15 digits>, msisdn-<5 to 15 digits>, nai-, gci-, gli- or extid-';
  }
  if (schemaPath.startsWith('#/properties/notifyUri/')) return 'must be an http:// or https:// URI';
  return 'has the wrong format';
}

/** A present attribute with a wrong value: mandatory or optional, by the schema that holds it. */
function incorrect(schema: object, error: ErrorObject, reason: string): Described {
  if (error.instancePath === '') return { param: '', reason, cause: 'INVALID_MSG_FORMAT' };
  return {
    param: error.instancePath,
    reason,
    cause: isMandatory(schema, error.instancePath) ? 'MANDATORY_IE_INCORRECT' : 'OPTIONAL_IE_INCORRECT',
  };
}

interface SchemaNode {
  readonly $ref?: string;
  readonly type?: string;
  readonly items?: SchemaNode;
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly required?: readonly string[];
}

/**
 * Whether the attribute at `instancePath` (a JSON pointer into the body) is mandatory: the schema
 * is walked along the pointer, through references, and the attribute is mandatory when the object
 * schema holding it lists it as required. An array element is as mandatory as its array. The walk
 * follows the instance, not the failing keyword's schema path, because a keyword inside a shared
 * definition (`#/$defs/nfIdentification/type`) no longer says where it was referenced from.
 */
function isMandatory(schema: object, instancePath: string): boolean {
  const root = schema as SchemaNode;
  let node: SchemaNode | undefined = root;
  let mandatory = false;
  for (const raw of instancePath.split('/').slice(1)) {
    node = dereference(root, node);
    if (node === undefined) return mandatory;
    if (node.type === 'array') {
      node = node.items;
      continue;
    }
    const name = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    mandatory = node.required?.includes(name) ?? false;
    node = node.properties?.[name];
  }
  return mandatory;
}

function dereference(root: SchemaNode, node: SchemaNode | undefined): SchemaNode | undefined {
  let current = node;
  // References here are local (#/$defs/...) and never cyclic; the bound is a guard, not a need.
  for (let hops = 0; current?.$ref !== undefined && hops < 8; hops++) {
    let target: unknown = root;
    for (const segment of current.$ref.replace(/^#\//, '').split('/')) {
      target =
        target === null || typeof target !== 'object'
          ? undefined
          : (target as Record<string, unknown>)[segment];
    }
    current = target as SchemaNode | undefined;
  }
  return current;
}
