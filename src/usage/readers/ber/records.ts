/**
 * TS 32.298 records (BER, decoded with asn1js) → normalised usage. Two record types are mapped:
 *
 * - PGW-CDR, `pGWRecord [79] PGWRecord` of GPRSChargingDataTypes (TS 32.251): one usage record
 *   per service data container of `listOfServiceData`, or one session record with the totals of
 *   `listOfTrafficVolumes` when there is none;
 * - CHF-CDR, `chargingFunctionRecord [200] ChargingRecord` of CHFChargingDataTypes (TS 32.255,
 *   Rel-15 on): one usage record per used unit container of each `listOfMultipleUnitUsage` entry,
 *   or one session record when there is none.
 *
 * Other record types (SGW-CDR, S-CDR, ...) are recognised as 32.298 records and refused as
 * `unsupported_record`. docs/usage-formats-ber.md lists which field goes where.
 *
 * Decoding problems are thrown inside this module as `RecordProblem` and turned into a rejected
 * mapping at its one entry point, `mapBerRecord`; nothing escapes it.
 */
import * as asn1js from 'asn1js';
import type { IdentityType } from '../../../customers/index.js';
import type { NumberingPlan, RejectReason, UsageInput } from '../../model.js';
import {
  CHF_RAT_TYPES,
  GPRS_RAT_TYPES,
  TYPE_OF_NUMBER,
  decodeAddressString,
  decodeInteger,
  decodeJsonUserLocation,
  decodePlmnId,
  decodeTbcd,
  decodeTimeStamp,
  decodeUserLocationInformation,
  formatIpAddress,
  isProblem,
  toHex,
  type Decoded,
  type UserLocation,
} from './fields.js';

/** Context-specific tags of the record types of TS 32.298 (GPRSRecord, CHFRecord and others). */
export const PGW_RECORD_TAG = 79;
export const CHF_RECORD_TAG = 200;

const KNOWN_RECORD_TYPES: Readonly<Record<number, string>> = {
  20: 'sgsnPDPRecord (S-CDR)',
  21: 'ggsnPDPRecord (G-CDR)',
  22: 'sgsnMMRecord',
  23: 'sgsnSMORecord',
  24: 'sgsnSMTRecord',
  25: 'sgsnMTLCSRecord',
  26: 'sgsnMOLCSRecord',
  27: 'sgsnNILCSRecord',
  76: 'sgsnMBMSRecord',
  77: 'ggsnMBMSRecord',
  78: 'sGWRecord (SGW-CDR)',
  79: 'pGWRecord (PGW-CDR)',
  86: 'gwMBMSRecord',
  92: 'tDFRecord',
  95: 'iPERecord',
  96: 'ePDGRecord',
  97: 'tWAGRecord',
  200: 'chargingFunctionRecord (CHF-CDR)',
};

/** The outcome of mapping one record. */
export type MappedRecord =
  | { readonly ok: true; readonly inputs: readonly UsageInput[] }
  | { readonly ok: false; readonly reason: RejectReason; readonly field?: string; readonly detail: string };

export interface MappingOptions {
  readonly numbering: NumberingPlan;
  /**
   * MCC-MNCs of the home network(s). When given, a serving PLMN outside the set means roaming;
   * otherwise the record's own hints are used (the IMSI's MCC-MNC, the CHF's SUPI PLMN, the
   * PGW-CDR's P-GW PLMN).
   */
  readonly homeMccMncs?: ReadonlySet<string>;
}

class RecordProblem extends Error {
  constructor(
    readonly reason: RejectReason,
    readonly field: string,
    readonly detail: string,
  ) {
    super(detail);
  }
}

type Block = asn1js.AsnType;

function describeTag(block: Block): string {
  const { tagClass, tagNumber } = block.idBlock;
  const classes = ['', 'UNIVERSAL ', 'APPLICATION ', '', 'PRIVATE '];
  return `[${classes[tagClass] ?? ''}${tagNumber}]`;
}

function isConstructed(block: Block): boolean {
  return block.idBlock.isConstructed;
}

function childrenOf(block: Block): Block[] {
  const value = (block.valueBlock as { value?: unknown }).value;
  return Array.isArray(value) ? (value as Block[]) : [];
}

function contentOf(block: Block): Uint8Array {
  const view = (block.valueBlock as { valueHexView?: Uint8Array }).valueHexView;
  return view ?? new Uint8Array(0);
}

function fromDecoded<T>(value: Decoded<T>, field: string, reason: RejectReason = 'unparseable'): T {
  if (isProblem(value)) throw new RecordProblem(reason, field, `${field} ${value.problem}`);
  return value;
}

/**
 * The context-tagged components of a SET or SEQUENCE, by tag number, with typed accessors that
 * name the field (`listOfServiceData[2].datavolumeFBCUplink`) in their problems. Components with
 * tags this reader does not use are ignored, as the ASN.1 extension markers allow.
 */
class Components {
  private readonly byTag = new Map<number, Block>();

  private constructor(
    readonly path: string,
    block: Block,
  ) {
    for (const child of childrenOf(block)) {
      if (child.idBlock.tagClass !== 3) continue;
      const tag = child.idBlock.tagNumber;
      if (this.byTag.has(tag))
        throw new RecordProblem(
          'malformed_record',
          this.name(`[${tag}]`),
          `${this.name(`[${tag}]`)} appears twice`,
        );
      this.byTag.set(tag, child);
    }
  }

  static of(block: Block, path: string): Components {
    if (!isConstructed(block))
      throw new RecordProblem(
        'malformed_record',
        path,
        `${path} is a primitive ${describeTag(block)}, not a constructed value`,
      );
    return new Components(path, block);
  }

  name(field: string): string {
    return this.path === '' ? field : `${this.path}.${field}`;
  }

  private primitive(tag: number, field: string): Uint8Array | undefined {
    const block = this.byTag.get(tag);
    if (block === undefined) return undefined;
    if (isConstructed(block))
      throw new RecordProblem(
        'malformed_record',
        this.name(field),
        `${this.name(field)} [${tag}] is constructed; a primitive value was expected`,
      );
    return contentOf(block);
  }

  has(tag: number): boolean {
    return this.byTag.has(tag);
  }

  bytes(tag: number, field: string): Uint8Array | undefined {
    return this.primitive(tag, field);
  }

  integer(tag: number, field: string): number | undefined {
    const content = this.primitive(tag, field);
    return content === undefined ? undefined : fromDecoded(decodeInteger(content), this.name(field));
  }

  text(tag: number, field: string): string | undefined {
    const content = this.primitive(tag, field);
    if (content === undefined) return undefined;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(content);
    } catch {
      throw new RecordProblem(
        'unparseable',
        this.name(field),
        `${this.name(field)} is not valid UTF-8 / IA5 text`,
      );
    }
  }

  timeStamp(tag: number, field: string): number | undefined {
    const content = this.primitive(tag, field);
    return content === undefined ? undefined : fromDecoded(decodeTimeStamp(content), this.name(field));
  }

  plmn(tag: number, field: string): string | undefined {
    const content = this.primitive(tag, field);
    return content === undefined ? undefined : fromDecoded(decodePlmnId(content), this.name(field));
  }

  nested(tag: number, field: string): Components | undefined {
    const block = this.byTag.get(tag);
    return block === undefined ? undefined : Components.of(block, this.name(field));
  }

  /** The elements of a SEQUENCE OF with an implicit tag. */
  list(tag: number, field: string): Block[] | undefined {
    const block = this.byTag.get(tag);
    if (block === undefined) return undefined;
    if (!isConstructed(block))
      throw new RecordProblem(
        'malformed_record',
        this.name(field),
        `${this.name(field)} [${tag}] is primitive; a list was expected`,
      );
    return childrenOf(block);
  }

  /** The chosen alternative of a tagged CHOICE (always explicitly tagged: one inner TLV). */
  choice(tag: number, field: string): Block | undefined {
    const block = this.byTag.get(tag);
    if (block === undefined) return undefined;
    const inner = childrenOf(block);
    if (!isConstructed(block) || inner.length !== 1)
      throw new RecordProblem(
        'malformed_record',
        this.name(field),
        `${this.name(field)} [${tag}] is not a tagged CHOICE holding one value`,
      );
    return inner[0]!;
  }
}

/** IPAddress (GenericChargingDataTypes): binary v4 [0], binary v6 [1], v6 with prefix [4], text [2]/[3]. */
function ipAddressOf(block: Block, field: string): string {
  const tag = block.idBlock.tagNumber;
  if (block.idBlock.tagClass === 3 && (tag === 0 || tag === 1) && !isConstructed(block))
    return fromDecoded(formatIpAddress(contentOf(block)), field);
  if (block.idBlock.tagClass === 3 && (tag === 2 || tag === 3) && !isConstructed(block))
    return new TextDecoder().decode(contentOf(block));
  if (block.idBlock.tagClass === 3 && tag === 4 && isConstructed(block)) {
    const first = childrenOf(block)[0];
    if (first !== undefined) return fromDecoded(formatIpAddress(contentOf(first)), field);
  }
  throw new RecordProblem(
    'malformed_record',
    field,
    `${field} is ${describeTag(block)}, not an IPAddress alternative`,
  );
}

const E164 = /^[1-9]\d{6,14}$/;

/**
 * A subscriber number as E.164 digits: international numbers as they are; national ones behind
 * the home country code (dropping a trunk prefix written before them); numbers of unknown type
 * by the source's numbering plan (an international prefix dropped, a national prefix replaced by
 * the country code, bare digits taken as international).
 */
export function numberToE164(digits: string, typeOfNumber: number, plan: NumberingPlan): string {
  if (typeOfNumber === TYPE_OF_NUMBER.international) return digits;
  const withoutTrunk = (d: string): string =>
    plan.nationalPrefix !== '' && d.startsWith(plan.nationalPrefix) ? d.slice(plan.nationalPrefix.length) : d;
  if (typeOfNumber === TYPE_OF_NUMBER.national) return `${plan.countryCode}${withoutTrunk(digits)}`;
  const prefixes = [...plan.internationalPrefixes].sort((a, b) => b.length - a.length);
  for (const prefix of prefixes)
    if (prefix !== '' && digits.startsWith(prefix)) return digits.slice(prefix.length);
  if (plan.nationalPrefix !== '' && digits.startsWith(plan.nationalPrefix))
    return `${plan.countryCode}${withoutTrunk(digits)}`;
  return digits;
}

/** A number written as text (a CHF SubscriptionID or InvolvedParty): "msisdn-4917...", "tel:+4917...", "+4917...". */
function textNumberToE164(text: string, plan: NumberingPlan): string | undefined {
  const bare = text
    .trim()
    .replace(/^(msisdn-|tel:)/i, '')
    .replace(/[\s\-.()]/g, '')
    .replace(/;.*$/, '');
  if (bare.startsWith('+')) return bare.slice(1);
  if (!/^\d+$/.test(bare)) return undefined;
  return numberToE164(bare, TYPE_OF_NUMBER.unknown, plan);
}

interface Identity {
  readonly identityType: IdentityType;
  readonly identity: string;
  /** Other identities worth keeping in `extra`. */
  readonly extra: Record<string, string>;
}

/** MSISDN when it reads as an E.164 number, else the IMSI, else the problem with the MSISDN or the IMSI. */
function chooseIdentity(
  msisdn: { field: string; value: string | undefined; problem?: string } | undefined,
  imsi: { field: string; value: string | undefined; problem?: string } | undefined,
  others: readonly Identity[],
): Identity {
  const extra: Record<string, string> = {};
  if (msisdn?.value !== undefined && E164.test(msisdn.value)) {
    if (imsi?.value !== undefined) extra.imsi = imsi.value;
    return { identityType: 'msisdn', identity: msisdn.value, extra };
  }
  if (msisdn !== undefined)
    extra.msisdnProblem = msisdn.problem ?? `${msisdn.field} ${msisdn.value ?? ''} is not an E.164 number`;
  if (imsi?.value !== undefined) return { identityType: 'imsi', identity: imsi.value, extra };
  const other = others[0];
  if (other !== undefined) return { ...other, extra: { ...extra, ...other.extra } };
  if (imsi?.problem !== undefined) throw new RecordProblem('unparseable', imsi.field, imsi.problem);
  if (msisdn !== undefined)
    throw new RecordProblem(
      'unparseable',
      msisdn.field,
      extra.msisdnProblem ?? `${msisdn.field} cannot be read`,
    );
  throw new RecordProblem(
    'missing_field',
    imsi?.field ?? 'servedIMSI',
    'the record names no subscriber: neither an MSISDN nor an IMSI is present',
  );
}

interface Roaming {
  readonly roaming: boolean;
  readonly visitedMccMnc?: string;
}

function roamingOf(
  serving: string | undefined,
  hints: { homePlmn?: string; imsi?: string; fallbackHomePlmn?: string },
  options: MappingOptions,
): Roaming {
  if (serving === undefined) return { roaming: false };
  let home: boolean | undefined;
  if (options.homeMccMncs !== undefined && options.homeMccMncs.size > 0)
    home = options.homeMccMncs.has(serving);
  else if (hints.homePlmn !== undefined) home = hints.homePlmn === serving;
  else if (hints.imsi !== undefined) home = hints.imsi.startsWith(serving);
  else if (hints.fallbackHomePlmn !== undefined) home = hints.fallbackHomePlmn === serving;
  return home === false ? { roaming: true, visitedMccMnc: serving } : { roaming: false };
}

function safeSum(values: readonly number[], field: string): number {
  let sum = 0;
  for (const value of values) sum += value;
  if (!Number.isSafeInteger(sum))
    throw new RecordProblem('unparseable', field, `${field} adds up past a safe integer`);
  return sum;
}

function ratName(table: Readonly<Record<number, string>>, value: number | undefined): string | undefined {
  return value === undefined ? undefined : (table[value] ?? String(value));
}

function userLocationOf(
  decoded: Decoded<UserLocation> | undefined,
  extra: Record<string, string>,
  field: string,
): UserLocation {
  if (decoded === undefined) return {};
  if (isProblem(decoded)) {
    // Location only informs; a location the reader cannot read is noted, not a reason to refuse usage.
    extra.locationProblem = `${field} ${decoded.problem}`;
    return {};
  }
  return decoded;
}

/** What every usage record of one CDR shares. */
interface Common {
  readonly identity: Identity;
  readonly startMs: number;
  readonly apn?: string;
  readonly roaming: Roaming;
  readonly location: UserLocation;
  readonly qos?: string;
  readonly snssai?: string;
  readonly idPrefix?: string;
  readonly extra: Record<string, string>;
}

interface Container {
  readonly startMs?: number;
  readonly durationSec: number;
  readonly volumeUpBytes: number;
  readonly volumeDownBytes: number;
  readonly ratingGroup?: number;
  readonly qos?: string;
  readonly location?: UserLocation;
  readonly ratType?: string;
  /** 1-based; 0 for the session record of a CDR without containers. */
  readonly index: number;
}

function usageInput(common: Common, container: Container): UsageInput {
  const cellId = container.location?.cellId ?? common.location.cellId;
  const extra: Record<string, string> = { ...common.extra, ...common.identity.extra };
  if (container.ratType !== undefined) extra.ratType = container.ratType;
  const tai = container.location?.tai ?? common.location.tai;
  if (tai !== undefined) extra.tai = tai;
  return {
    service: 'data',
    identityType: common.identity.identityType,
    identity: common.identity.identity,
    startMs: container.startMs ?? common.startMs,
    durationSec: container.durationSec,
    volumeUpBytes: container.volumeUpBytes,
    volumeDownBytes: container.volumeDownBytes,
    count: 0,
    ...(common.apn !== undefined ? { apn: common.apn } : {}),
    ...(container.ratingGroup !== undefined ? { ratingGroup: container.ratingGroup } : {}),
    ...(cellId !== undefined ? { cellId } : {}),
    roaming: common.roaming.roaming,
    ...(common.roaming.visitedMccMnc !== undefined ? { visitedMccMnc: common.roaming.visitedMccMnc } : {}),
    ...(common.snssai !== undefined ? { snssai: common.snssai } : {}),
    ...((container.qos ?? common.qos) !== undefined ? { qos: container.qos ?? common.qos } : {}),
    ...(common.idPrefix !== undefined ? { sourceRecordId: `${common.idPrefix}:${container.index}` } : {}),
    extra,
  };
}

function required<T>(value: T | undefined, field: string): T {
  if (value === undefined) throw new RecordProblem('missing_field', field, `${field} is absent`);
  return value;
}

/** Duration of a container: its own time, else last usage minus first usage, else 0. */
function containerDuration(
  time: number | undefined,
  first: number | undefined,
  last: number | undefined,
): number {
  if (time !== undefined) return time;
  if (first !== undefined && last !== undefined && last >= first) return Math.floor((last - first) / 1000);
  return 0;
}

function mapPgwRecord(record: Components, options: MappingOptions): UsageInput[] {
  const imsiBytes = record.bytes(3, 'servedIMSI');
  const imsiDecoded = imsiBytes === undefined ? undefined : decodeTbcd(imsiBytes);
  const msisdnBytes = record.bytes(22, 'servedMSISDN');
  const msisdnDecoded = msisdnBytes === undefined ? undefined : decodeAddressString(msisdnBytes);
  const imsi = imsiDecoded === undefined || isProblem(imsiDecoded) ? undefined : imsiDecoded;
  const identity = chooseIdentity(
    msisdnDecoded === undefined
      ? undefined
      : isProblem(msisdnDecoded)
        ? { field: 'servedMSISDN', value: undefined, problem: `servedMSISDN ${msisdnDecoded.problem}` }
        : {
            field: 'servedMSISDN',
            value: numberToE164(msisdnDecoded.digits, msisdnDecoded.typeOfNumber, options.numbering),
          },
    imsiDecoded === undefined
      ? undefined
      : {
          field: 'servedIMSI',
          value: imsi,
          problem: isProblem(imsiDecoded) ? `servedIMSI ${imsiDecoded.problem}` : undefined,
        },
    [],
  );

  const gatewayChoice = record.choice(4, 'p-GWAddress');
  const nodeAddress = gatewayChoice === undefined ? undefined : ipAddressOf(gatewayChoice, 'p-GWAddress');
  const chargingId = record.integer(5, 'chargingID');
  const apn = record.text(7, 'accessPointNameNI');
  const openingMs = required(record.timeStamp(13, 'recordOpeningTime'), 'recordOpeningTime');
  const durationSec = record.integer(14, 'duration') ?? 0;
  const causeForRecClosing = record.integer(15, 'causeForRecClosing');
  const sequence = record.integer(17, 'recordSequenceNumber');
  const servingPlmn = record.plmn(27, 'servingNodePLMNIdentifier');
  const ratType = ratName(GPRS_RAT_TYPES, record.integer(30, 'rATType'));
  const extra: Record<string, string> = { cdrType: 'PGW-CDR' };
  const uliBytes = record.bytes(32, 'userLocationInformation');
  const location = userLocationOf(
    uliBytes === undefined ? undefined : decodeUserLocationInformation(uliBytes),
    extra,
    'userLocationInformation',
  );
  const gatewayPlmn = record.plmn(37, 'p-GWPLMNIdentifier');
  const qci = record.nested(55, 'ePCQoSInformation')?.integer(1, 'qCI');

  if (chargingId !== undefined) extra.chargingId = String(chargingId);
  if (sequence !== undefined) extra.recordSequenceNumber = String(sequence);
  if (nodeAddress !== undefined) extra.nodeAddress = nodeAddress;
  if (causeForRecClosing !== undefined) extra.causeForRecClosing = String(causeForRecClosing);
  if (ratType !== undefined) extra.ratType = ratType;

  const common: Common = {
    identity,
    startMs: openingMs,
    apn,
    roaming: roamingOf(servingPlmn ?? location.mccMnc, { imsi, fallbackHomePlmn: gatewayPlmn }, options),
    location,
    qos: qci === undefined ? undefined : String(qci),
    idPrefix: chargingId === undefined ? undefined : `${nodeAddress ?? '-'}/${chargingId}:${sequence ?? 0}`,
    extra,
  };

  const services = record.list(34, 'listOfServiceData') ?? [];
  const inputs: UsageInput[] = [];
  services.forEach((block, i) => {
    const c = Components.of(block, `listOfServiceData[${i + 1}]`);
    const firstUsage = c.timeStamp(5, 'timeOfFirstUsage');
    const lastUsage = c.timeStamp(6, 'timeOfLastUsage');
    const containerQci = c.nested(9, 'qoSInformationNeg')?.integer(1, 'qCI');
    const containerUli = c.bytes(20, 'userLocationInformation');
    const containerLocation =
      containerUli === undefined
        ? undefined
        : userLocationOf(
            decodeUserLocationInformation(containerUli),
            extra,
            c.name('userLocationInformation'),
          );
    inputs.push(
      usageInput(common, {
        index: i + 1,
        ratingGroup: required(c.integer(1, 'ratingGroup'), c.name('ratingGroup')),
        startMs: firstUsage,
        durationSec: containerDuration(c.integer(7, 'timeUsage'), firstUsage, lastUsage),
        volumeUpBytes: c.integer(12, 'datavolumeFBCUplink') ?? 0,
        volumeDownBytes: c.integer(13, 'datavolumeFBCDownlink') ?? 0,
        qos: containerQci === undefined ? undefined : String(containerQci),
        location: containerLocation,
        ratType: ratName(GPRS_RAT_TYPES, c.integer(30, 'rATType')),
      }),
    );
  });
  if (inputs.length > 0) return inputs;

  const volumes = (record.list(12, 'listOfTrafficVolumes') ?? []).map((block, i) => {
    const c = Components.of(block, `listOfTrafficVolumes[${i + 1}]`);
    return {
      up: c.integer(3, 'dataVolumeGPRSUplink') ?? 0,
      down: c.integer(4, 'dataVolumeGPRSDownlink') ?? 0,
    };
  });
  return [
    usageInput(common, {
      index: 0,
      durationSec,
      volumeUpBytes: safeSum(
        volumes.map((v) => v.up),
        'listOfTrafficVolumes.dataVolumeGPRSUplink',
      ),
      volumeDownBytes: safeSum(
        volumes.map((v) => v.down),
        'listOfTrafficVolumes.dataVolumeGPRSDownlink',
      ),
    }),
  ];
}

/** SubscriptionIDType of GenericChargingDataTypes. */
const SUBSCRIPTION_ID_TYPES = { e164: 0, imsi: 1, sipUri: 2, nai: 3, private: 4 } as const;

function mapChfRecord(record: Components, options: MappingOptions): UsageInput[] {
  const extra: Record<string, string> = { cdrType: 'CHF-CDR' };
  const nodeId = record.text(1, 'recordingNetworkFunctionID');
  const subscriber = record.nested(2, 'subscriberIdentifier');
  const subscriberType = subscriber?.integer(0, 'subscriptionIDType');
  const subscriberData = subscriber?.text(1, 'subscriptionIDData');
  const session = record.nested(13, 'pDUSessionChargingInformation');

  let msisdn: { field: string; value: string | undefined; problem?: string } | undefined;
  let imsi: { field: string; value: string | undefined; problem?: string } | undefined;
  const others: Identity[] = [];
  if (subscriber !== undefined && subscriberData === undefined)
    throw new RecordProblem(
      'missing_field',
      subscriber.name('subscriptionIDData'),
      `${subscriber.name('subscriptionIDData')} is absent`,
    );
  if (subscriberData !== undefined) {
    const field = 'subscriberIdentifier.subscriptionIDData';
    if (subscriberType === SUBSCRIPTION_ID_TYPES.e164) {
      msisdn = { field, value: textNumberToE164(subscriberData, options.numbering) };
    } else if (subscriberType === SUBSCRIPTION_ID_TYPES.imsi) {
      const digits = subscriberData.trim().replace(/^imsi-/i, '');
      imsi = /^\d{6,15}$/.test(digits)
        ? { field, value: digits }
        : { field, value: undefined, problem: `${field} "${subscriberData}" is not an IMSI` };
    } else if (subscriberType === SUBSCRIPTION_ID_TYPES.sipUri) {
      others.push({ identityType: 'sip-uri', identity: subscriberData.trim(), extra: {} });
    } else if (subscriberType === SUBSCRIPTION_ID_TYPES.nai) {
      others.push({ identityType: 'nai', identity: subscriberData.trim(), extra: {} });
    }
  }
  // The GPSI (userIdentifier, an InvolvedParty CHOICE) names the MSISDN when the SUPI is an IMSI.
  const party = session?.choice(1, 'userIdentifier');
  if (msisdn === undefined && party !== undefined && party.idBlock.tagClass === 3) {
    const tag = party.idBlock.tagNumber;
    if (tag === 1 || tag === 3) {
      const text = new TextDecoder().decode(contentOf(party));
      msisdn = {
        field: 'pDUSessionChargingInformation.userIdentifier',
        value: textNumberToE164(text, options.numbering),
      };
    }
  }
  const identity = chooseIdentity(msisdn, imsi, others);

  const openingMs = required(record.timeStamp(6, 'recordOpeningTime'), 'recordOpeningTime');
  const durationSec = record.integer(7, 'duration') ?? 0;
  const sequence = record.integer(8, 'recordSequenceNumber');
  const causeForRecClosing = record.integer(9, 'causeForRecClosing');
  const chargingId = session?.integer(0, 'pDUSessionChargingID') ?? record.integer(27, 'chargingID');
  const uliBytes = session?.bytes(3, 'userLocationInformation');
  const location = userLocationOf(
    uliBytes === undefined ? undefined : decodeJsonUserLocation(uliBytes),
    extra,
    'pDUSessionChargingInformation.userLocationInformation',
  );
  const roamerInOut = session?.integer(4, 'userRoamerInOut');
  const slice = session?.nested(7, 'networkSliceInstanceID');
  const sst = slice?.integer(0, 'sST');
  const sd = slice?.bytes(1, 'sD');
  if (slice !== undefined && sst === undefined)
    throw new RecordProblem('missing_field', slice.name('sST'), `${slice.name('sST')} is absent`);
  if (sd !== undefined && sd.length !== 3)
    throw new RecordProblem(
      'unparseable',
      slice!.name('sD'),
      `${slice!.name('sD')} has ${sd.length} octets; an SD has 3`,
    );
  const supiPlmn = session?.plmn(10, 'sUPIPLMNIdentifier');
  const ratType = ratName(CHF_RAT_TYPES, session?.integer(12, 'rATType'));
  const dnn = session?.text(13, 'dataNetworkNameIdentifier');
  const fiveQi = session?.nested(15, 'authorizedQoSInformation')?.integer(1, 'fiveQi');
  const servingPlmn = session?.plmn(27, 'servingCNPLMNID');

  if (chargingId !== undefined) extra.chargingId = String(chargingId);
  if (sequence !== undefined) extra.recordSequenceNumber = String(sequence);
  if (nodeId !== undefined) extra.nodeId = nodeId;
  if (causeForRecClosing !== undefined) extra.causeForRecClosing = String(causeForRecClosing);
  if (ratType !== undefined) extra.ratType = ratType;
  if (roamerInOut !== undefined)
    extra.roamerInOut = roamerInOut === 0 ? 'inbound' : roamerInOut === 1 ? 'outbound' : String(roamerInOut);

  let roaming = roamingOf(servingPlmn ?? location.mccMnc, { homePlmn: supiPlmn, imsi: imsi?.value }, options);
  // The SMF says so itself when the subscriber roams (out of or into its network).
  if (!roaming.roaming && (roamerInOut === 0 || roamerInOut === 1)) {
    const visited = servingPlmn ?? location.mccMnc;
    roaming = { roaming: true, ...(visited !== undefined ? { visitedMccMnc: visited } : {}) };
  }

  const common: Common = {
    identity,
    startMs: openingMs,
    apn: dnn,
    roaming,
    location,
    qos: fiveQi === undefined ? undefined : String(fiveQi),
    snssai: sst === undefined ? undefined : sd === undefined ? String(sst) : `${sst}-${toHex(sd)}`,
    idPrefix: chargingId === undefined ? undefined : `${nodeId ?? '-'}/${chargingId}:${sequence ?? 0}`,
    extra,
  };

  const inputs: UsageInput[] = [];
  let index = 0;
  (record.list(5, 'listOfMultipleUnitUsage') ?? []).forEach((block, i) => {
    const usage = Components.of(block, `listOfMultipleUnitUsage[${i + 1}]`);
    const ratingGroup = required(usage.integer(0, 'ratingGroup'), usage.name('ratingGroup'));
    (usage.list(1, 'usedUnitContainers') ?? []).forEach((containerBlock, j) => {
      const c = Components.of(containerBlock, usage.name(`usedUnitContainers[${j + 1}]`));
      const total = c.integer(4, 'dataTotalVolume');
      const up = c.integer(5, 'dataVolumeUplink');
      const down = c.integer(6, 'dataVolumeDownlink');
      const pdu = c.nested(11, 'pDUContainerInformation');
      const firstUsage = pdu?.timeStamp(2, 'timeOfFirstUsage');
      const lastUsage = pdu?.timeStamp(3, 'timeOfLastUsage');
      const containerFiveQi = pdu?.nested(4, 'qoSInformation')?.integer(1, 'fiveQi');
      const containerUli = pdu?.bytes(5, 'userLocationInformation');
      index += 1;
      inputs.push(
        usageInput(common, {
          index,
          ratingGroup,
          startMs: firstUsage ?? c.timeStamp(8, 'eventTimeStamp'),
          durationSec: containerDuration(c.integer(1, 'time'), firstUsage, lastUsage),
          volumeUpBytes: up ?? 0,
          // Only a total: what is not uplink is counted as downlink.
          volumeDownBytes: down ?? (total !== undefined ? Math.max(total - (up ?? 0), 0) : 0),
          qos: containerFiveQi === undefined ? undefined : String(containerFiveQi),
          location:
            containerUli === undefined
              ? undefined
              : userLocationOf(
                  decodeJsonUserLocation(containerUli),
                  extra,
                  pdu!.name('userLocationInformation'),
                ),
          ratType: ratName(CHF_RAT_TYPES, pdu?.integer(7, 'rATType')),
        }),
      );
    });
  });
  if (inputs.length > 0) return inputs;
  return [usageInput(common, { index: 0, durationSec, volumeUpBytes: 0, volumeDownBytes: 0 })];
}

/**
 * Decoder limits: TS 32.298 records nest about 8 deep; hostile input nesting deeper is refused
 * rather than recursed into. OCTET STRINGs are not searched for embedded BER, and the record is
 * not copied (the mapper copies what it keeps).
 */
const BER_LIMITS = { maxDepth: 64, parseEmbedded: false, copyInput: false } as const;

/**
 * Decodes one BER record (the octets after the CDR header) and maps it. Never throws: garbage,
 * wrong tags, unreadable fields and even a decoder failure become a rejected mapping.
 */
export function mapBerRecord(record: Uint8Array, options: MappingOptions): MappedRecord {
  try {
    const decoded = asn1js.fromBER(record, BER_LIMITS);
    if (decoded.offset === -1 || decoded.result.error !== '') {
      const error = decoded.result.error !== '' ? decoded.result.error : 'the encoding is not valid BER';
      return {
        ok: false,
        reason: 'malformed_record',
        field: 'BER',
        detail: `the record is not valid BER: ${error}`,
      };
    }
    if (decoded.offset !== record.length)
      return {
        ok: false,
        reason: 'malformed_record',
        field: 'BER',
        detail: `the BER record ends at octet ${decoded.offset} of ${record.length}; ${record.length - decoded.offset} octet(s) follow it`,
      };
    const root = decoded.result;
    const { tagClass, tagNumber } = root.idBlock;
    if (tagClass !== 3 || !isConstructed(root))
      return {
        ok: false,
        reason: 'malformed_record',
        field: 'record type',
        detail: `the record's outer tag ${describeTag(root)} is not the context-specific constructed tag of a TS 32.298 record type`,
      };
    const components = Components.of(root, '');
    if (tagNumber === PGW_RECORD_TAG) return { ok: true, inputs: mapPgwRecord(components, options) };
    if (tagNumber === CHF_RECORD_TAG) return { ok: true, inputs: mapChfRecord(components, options) };
    const known = KNOWN_RECORD_TYPES[tagNumber];
    return {
      ok: false,
      reason: 'unsupported_record',
      field: 'record type',
      detail:
        known !== undefined
          ? `${known} [${tagNumber}] is a TS 32.298 record Tollgate does not rate (only pGWRecord [79] and chargingFunctionRecord [200])`
          : `record type [${tagNumber}] is not one this reader knows (only pGWRecord [79] and chargingFunctionRecord [200])`,
    };
  } catch (error) {
    if (error instanceof RecordProblem)
      return { ok: false, reason: error.reason, field: error.field, detail: error.detail };
    // A decoder failure on hostile input (e.g. nesting deep enough to exhaust the stack).
    return {
      ok: false,
      reason: 'malformed_record',
      field: 'BER',
      detail: `the record cannot be decoded: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
