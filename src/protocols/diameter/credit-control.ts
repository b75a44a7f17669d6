/**
 * Diameter Credit-Control (RFC 4006 / RFC 8506, as profiled for Gy/Ro by 3GPP TS 32.299): the
 * typed Credit-Control-Request the charging core receives, the typed Credit-Control-Answer it
 * returns, and the Re-Auth-Request the core can send to make a client report and re-authorize.
 *
 * Parsing is strict where the meaning of the request depends on it: a missing mandatory AVP of the
 * CCR grammar (RFC 4006 section 3.1) gives 5005 DIAMETER_MISSING_AVP naming it, an Enumerated value
 * we cannot interpret (CC-Request-Type, Requested-Action, Subscription-Id-Type) 5004
 * DIAMETER_INVALID_AVP_VALUE, and a repeated single-valued AVP 5009
 * DIAMETER_AVP_OCCURS_TOO_MANY_TIMES, each with the offending AVP for Failed-AVP. AVPs we do not
 * interpret stay available through `message`.
 *
 * Amounts: CC-Money and Cost-Information carry Unit-Value, i.e. Value-Digits × 10^Exponent
 * (RFC 4006 section 8.8) in the currency whose ISO 4217 numeric code is Currency-Code. Value-Digits
 * is an Integer64, kept as a bigint; the amount is never turned into a JS float here.
 */
import {
  CommandFlag,
  DiameterDecodeError,
  avp,
  exampleAvp,
  findAvps,
  groupedChildren,
  isRetransmission,
  type DiameterAvp,
  type DiameterMessage,
} from './codec.js';
import { DiameterApplication, DiameterCommand, defaultDictionary, VENDOR_3GPP } from './dictionary.js';
import { ResultCode, isProtocolError } from './result-codes.js';

// ---- Vocabulary ----------------------------------------------------------------------------------

/** CC-Request-Type (RFC 4006 section 8.3), by wire value 1..4. */
export const CC_REQUEST_TYPES = ['INITIAL', 'UPDATE', 'TERMINATE', 'EVENT'] as const;
export type CcRequestType = (typeof CC_REQUEST_TYPES)[number];

/** Requested-Action (RFC 4006 section 8.41), by wire value 0..3. */
export const REQUESTED_ACTIONS = [
  'DIRECT_DEBITING',
  'REFUND_ACCOUNT',
  'CHECK_BALANCE',
  'PRICE_ENQUIRY',
] as const;
export type RequestedAction = (typeof REQUESTED_ACTIONS)[number];

/** Subscription-Id-Type (RFC 4006 section 8.47), by wire value 0..4. */
export const SUBSCRIPTION_ID_TYPES = [
  'END_USER_E164',
  'END_USER_IMSI',
  'END_USER_SIP_URI',
  'END_USER_NAI',
  'END_USER_PRIVATE',
] as const;
export type SubscriptionIdType = (typeof SUBSCRIPTION_ID_TYPES)[number];

/** Reporting-Reason (TS 32.299 section 7.2.175), by wire value 0..9. */
export const REPORTING_REASONS = [
  'THRESHOLD',
  'QHT',
  'FINAL',
  'QUOTA_EXHAUSTED',
  'VALIDITY_TIME',
  'OTHER_QUOTA_TYPE',
  'RATING_CONDITION_CHANGE',
  'FORCED_REAUTHORISATION',
  'POOL_EXHAUSTED',
  'UNUSED_QUOTA_TIMER',
] as const;
export type ReportingReason = (typeof REPORTING_REASONS)[number];

/** Tariff-Change-Usage (RFC 4006 section 8.27), by wire value 0..2. */
export const TARIFF_CHANGE_USAGES = [
  'UNIT_BEFORE_TARIFF_CHANGE',
  'UNIT_AFTER_TARIFF_CHANGE',
  'UNIT_INDETERMINATE',
] as const;
export type TariffChangeUsage = (typeof TARIFF_CHANGE_USAGES)[number];

/** Final-Unit-Action (RFC 4006 section 8.35), by wire value 0..2. */
export const FINAL_UNIT_ACTIONS = ['TERMINATE', 'REDIRECT', 'RESTRICT_ACCESS'] as const;
export type FinalUnitAction = (typeof FINAL_UNIT_ACTIONS)[number];

/** Redirect-Address-Type (RFC 4006 section 8.38), by wire value 0..3. */
export const REDIRECT_ADDRESS_TYPES = ['IPV4_ADDRESS', 'IPV6_ADDRESS', 'URL', 'SIP_URI'] as const;
export type RedirectAddressType = (typeof REDIRECT_ADDRESS_TYPES)[number];

export const CHECK_BALANCE_RESULTS = ['ENOUGH_CREDIT', 'NO_CREDIT'] as const;
export type CheckBalanceResult = (typeof CHECK_BALANCE_RESULTS)[number];

export const CREDIT_CONTROL_FAILURE_HANDLINGS = ['TERMINATE', 'CONTINUE', 'RETRY_AND_TERMINATE'] as const;
export type CreditControlFailureHandling = (typeof CREDIT_CONTROL_FAILURE_HANDLINGS)[number];

export const DIRECT_DEBITING_FAILURE_HANDLINGS = ['TERMINATE_OR_BUFFER', 'CONTINUE'] as const;
export type DirectDebitingFailureHandling = (typeof DIRECT_DEBITING_FAILURE_HANDLINGS)[number];

// ---- Units and money -----------------------------------------------------------------------------

/**
 * An amount as RFC 4006 Unit-Value carries it: valueDigits × 10^exponent, e.g. EUR 12.34 is
 * { valueDigits: 1234n, exponent: -2, currencyCode: 978 }.
 */
export interface CcMoney {
  readonly valueDigits: bigint;
  /** Exponent AVP; 0 when absent (RFC 4006 section 8.9). */
  readonly exponent: number;
  /** ISO 4217 numeric currency code (Currency-Code), when given. */
  readonly currencyCode?: number;
}

/** The unit AVPs shared by Requested-, Granted- and Used-Service-Unit (RFC 4006 section 8.17-8.21). */
export interface ServiceUnits {
  /** CC-Time. */
  readonly timeSec?: number;
  /** CC-Total-Octets. */
  readonly totalOctets?: bigint;
  /** CC-Input-Octets (from the user). */
  readonly inputOctets?: bigint;
  /** CC-Output-Octets (to the user). */
  readonly outputOctets?: bigint;
  /** CC-Service-Specific-Units (events, messages). */
  readonly serviceSpecificUnits?: bigint;
  /** CC-Money. */
  readonly money?: CcMoney;
}

export interface UsedServiceUnits extends ServiceUnits {
  /** 3GPP Reporting-Reason inside Used-Service-Unit: why this quota type is reported. */
  readonly reportingReason?: ReportingReason | number;
  readonly tariffChangeUsage?: TariffChangeUsage;
}

export interface GrantedServiceUnits extends ServiceUnits {
  /** Tariff-Time-Change, ms since the epoch (whole seconds). */
  readonly tariffTimeChangeMs?: number;
}

// ---- The request ---------------------------------------------------------------------------------

export interface SubscriptionId {
  readonly type: SubscriptionIdType;
  readonly data: string;
}

/** One Multiple-Services-Credit-Control of a CCR: one rating group (and/or service ids). */
export interface ServiceCreditRequest {
  readonly ratingGroup?: number;
  readonly serviceIdentifiers: readonly number[];
  /** Requested-Service-Unit; present (perhaps empty) when the client asks for quota. */
  readonly requested?: ServiceUnits;
  readonly used: readonly UsedServiceUnits[];
  /** 3GPP Reporting-Reason at MSCC level: why all quota types of this MSCC are reported. */
  readonly reportingReason?: ReportingReason | number;
  /** 3GPP Trigger-Type values from a Trigger AVP. */
  readonly triggerTypes: readonly number[];
  /** The AVP itself, for what this mapping does not interpret. */
  readonly avp: DiameterAvp;
}

export interface CreditControlRequest {
  readonly sessionId: string;
  readonly originHost: string;
  readonly originRealm: string;
  readonly destinationRealm: string;
  readonly destinationHost?: string;
  readonly serviceContextId: string;
  readonly requestType: CcRequestType;
  readonly requestNumber: number;
  /**
   * Requested-Action. RFC 4006 section 8.41 expects it in EVENT requests; when a client leaves it
   * out it stays undefined here, and the charging core decides (usually direct debiting).
   */
  readonly requestedAction?: RequestedAction;
  readonly userName?: string;
  readonly originStateId?: number;
  /** Event-Timestamp, ms since the epoch (whole seconds). */
  readonly eventTimestampMs?: number;
  readonly subscriptionIds: readonly SubscriptionId[];
  /** Multiple-Services-Indicator is MULTIPLE_SERVICES_SUPPORTED. */
  readonly multipleServicesSupported: boolean;
  /** The Multiple-Services-Credit-Control AVPs, in order. */
  readonly services: readonly ServiceCreditRequest[];
  /** Command-level Requested-Service-Unit (single-service clients). */
  readonly requested?: ServiceUnits;
  /** Command-level Used-Service-Units (single-service clients). */
  readonly used: readonly UsedServiceUnits[];
  /** Command-level Service-Identifier (single-service clients). */
  readonly serviceIdentifier?: number;
  readonly terminationCause?: number;
  /** 3GPP Service-Information (PS-, IMS-, SMS-Information...), undecoded further. */
  readonly serviceInformation?: DiameterAvp;
  /**
   * The T bit was set: the client may have sent this request before (RFC 6733 section 3). The
   * charging core answers a duplicate (same Session-Id and CC-Request-Number) without debiting twice.
   */
  readonly retransmission: boolean;
  readonly hopByHopId: number;
  readonly endToEndId: number;
  /** The whole decoded request. */
  readonly message: DiameterMessage;
}

/**
 * Maps a decoded CCR into a CreditControlRequest. Throws DiameterDecodeError (5004, 5005, 5009)
 * with the AVP for Failed-AVP when the request does not follow the RFC 4006 grammar.
 */
export function parseCreditControlRequest(message: DiameterMessage): CreditControlRequest {
  let sessionId: string | undefined;
  let originHost: string | undefined;
  let originRealm: string | undefined;
  let destinationRealm: string | undefined;
  let destinationHost: string | undefined;
  let authApplicationId: number | undefined;
  let serviceContextId: string | undefined;
  let requestType: CcRequestType | undefined;
  let requestNumber: number | undefined;
  let requestedAction: RequestedAction | undefined;
  let userName: string | undefined;
  let originStateId: number | undefined;
  let eventTimestampMs: number | undefined;
  let multipleServicesSupported = false;
  let requested: ServiceUnits | undefined;
  let serviceIdentifier: number | undefined;
  let terminationCause: number | undefined;
  let serviceInformation: DiameterAvp | undefined;
  const subscriptionIds: SubscriptionId[] = [];
  const services: ServiceCreditRequest[] = [];
  const used: UsedServiceUnits[] = [];
  // Which single-valued AVPs were met, one bit each, so a repeat is refused as it is met.
  let seen = 0;
  for (const entry of message.avps) {
    if (entry.vendorId === VENDOR_3GPP) {
      if (entry.code === 873) serviceInformation = entry;
      continue;
    }
    if (entry.vendorId !== 0) continue;
    switch (entry.code) {
      case 263:
        seen = once(seen, 0, entry);
        sessionId = entry.value as string;
        break;
      case 264:
        seen = once(seen, 1, entry);
        originHost = entry.value as string;
        break;
      case 296:
        seen = once(seen, 2, entry);
        originRealm = entry.value as string;
        break;
      case 283:
        seen = once(seen, 3, entry);
        destinationRealm = entry.value as string;
        break;
      case 293:
        seen = once(seen, 4, entry);
        destinationHost = entry.value as string;
        break;
      case 258:
        seen = once(seen, 5, entry);
        authApplicationId = entry.value as number;
        break;
      case 461:
        seen = once(seen, 6, entry);
        serviceContextId = entry.value as string;
        break;
      case 416:
        seen = once(seen, 7, entry);
        requestType = named(CC_REQUEST_TYPES, (entry.value as number) - 1, entry);
        break;
      case 415:
        seen = once(seen, 8, entry);
        requestNumber = entry.value as number;
        break;
      case 436:
        seen = once(seen, 9, entry);
        requestedAction = named(REQUESTED_ACTIONS, entry.value as number, entry);
        break;
      case 1:
        seen = once(seen, 10, entry);
        userName = entry.value as string;
        break;
      case 278:
        seen = once(seen, 11, entry);
        originStateId = entry.value as number;
        break;
      case 55:
        seen = once(seen, 12, entry);
        eventTimestampMs = entry.value as number;
        break;
      case 455:
        seen = once(seen, 13, entry);
        multipleServicesSupported =
          named(['NOT_SUPPORTED', 'SUPPORTED'], entry.value as number, entry) === 'SUPPORTED';
        break;
      case 443:
        subscriptionIds.push(parseSubscriptionId(entry));
        break;
      case 659:
        subscriptionIds.push(...parseSubscriptionIdExtension(entry));
        break;
      case 456:
        services.push(parseServiceCredit(entry));
        break;
      case 437:
        seen = once(seen, 14, entry);
        requested = parseServiceUnits(entry);
        break;
      case 446:
        used.push(parseUsedUnits(entry));
        break;
      case 439:
        seen = once(seen, 15, entry);
        serviceIdentifier = entry.value as number;
        break;
      case 295:
        seen = once(seen, 16, entry);
        terminationCause = entry.value as number;
        break;
    }
  }
  // RFC 4006 section 3.1: the fixed and required AVPs of the CCR, in grammar order.
  if (sessionId === undefined) throw missing('Session-Id');
  if (originHost === undefined) throw missing('Origin-Host');
  if (originRealm === undefined) throw missing('Origin-Realm');
  if (destinationRealm === undefined) throw missing('Destination-Realm');
  if (authApplicationId === undefined) throw missing('Auth-Application-Id');
  if (serviceContextId === undefined) throw missing('Service-Context-Id');
  if (requestType === undefined) throw missing('CC-Request-Type');
  if (requestNumber === undefined) throw missing('CC-Request-Number');
  if (authApplicationId !== DiameterApplication.CreditControl) {
    throw new DiameterDecodeError(
      ResultCode.DIAMETER_INVALID_AVP_VALUE,
      `Auth-Application-Id ${authApplicationId} is not Diameter Credit-Control (4)`,
      { failedAvp: avp('Auth-Application-Id', authApplicationId) },
    );
  }
  // Optional fields are assigned only when present (no spread of temporary objects: this runs
  // for every CCR).
  const request: Mutable<CreditControlRequest> = {
    sessionId,
    originHost,
    originRealm,
    destinationRealm,
    serviceContextId,
    requestType,
    requestNumber,
    subscriptionIds,
    multipleServicesSupported,
    services,
    used,
    retransmission: isRetransmission(message),
    hopByHopId: message.hopByHopId,
    endToEndId: message.endToEndId,
    message,
  };
  if (destinationHost !== undefined) request.destinationHost = destinationHost;
  if (requestedAction !== undefined) request.requestedAction = requestedAction;
  if (userName !== undefined) request.userName = userName;
  if (originStateId !== undefined) request.originStateId = originStateId;
  if (eventTimestampMs !== undefined) request.eventTimestampMs = eventTimestampMs;
  if (requested !== undefined) request.requested = requested;
  if (serviceIdentifier !== undefined) request.serviceIdentifier = serviceIdentifier;
  if (terminationCause !== undefined) request.terminationCause = terminationCause;
  if (serviceInformation !== undefined) request.serviceInformation = serviceInformation;
  return request;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function once(seen: number, bit: number, entry: DiameterAvp): number {
  const mask = 1 << bit;
  if ((seen & mask) !== 0) {
    throw new DiameterDecodeError(
      ResultCode.DIAMETER_AVP_OCCURS_TOO_MANY_TIMES,
      `${entry.name} occurs more than once`,
      {
        failedAvp: entry,
      },
    );
  }
  return seen | mask;
}

function missing(name: string, parent?: DiameterAvp): DiameterDecodeError {
  const example = exampleAvp(defaultDictionary.require(name));
  return new DiameterDecodeError(
    ResultCode.DIAMETER_MISSING_AVP,
    parent === undefined
      ? `the required AVP ${name} is missing`
      : `${parent.name} lacks its required ${name}`,
    // RFC 6733 section 7.5: the missing child is shown inside its group.
    { failedAvp: parent === undefined ? example : { ...parent, value: [example] } },
  );
}

function invalid(entry: DiameterAvp, why: string): DiameterDecodeError {
  return new DiameterDecodeError(ResultCode.DIAMETER_INVALID_AVP_VALUE, `${entry.name} ${why}`, {
    failedAvp: entry,
  });
}

/** The name at `index` of a value list, or 5004 for a value the list does not have. */
function named<T extends string>(names: readonly T[], index: number, entry: DiameterAvp): T {
  const name = names[index];
  if (name === undefined) throw invalid(entry, `has the value ${String(entry.value)}, which is not defined`);
  return name;
}

/** Finds one child by (code, vendor) inside a group; children we do not read are ignored. */
function child(group: DiameterAvp, code: number, vendorId = 0): DiameterAvp | undefined {
  for (const entry of groupedChildren(group)) {
    if (entry.code === code && entry.vendorId === vendorId) return entry;
  }
  return undefined;
}

function parseSubscriptionId(entry: DiameterAvp): SubscriptionId {
  const type = child(entry, 450);
  const data = child(entry, 444);
  if (type === undefined) throw missing('Subscription-Id-Type', entry);
  if (data === undefined) throw missing('Subscription-Id-Data', entry);
  return { type: named(SUBSCRIPTION_ID_TYPES, type.value as number, type), data: data.value as string };
}

/** RFC 8506 section 8.58: Subscription-Id-Extension holds one typed identity AVP. */
function parseSubscriptionIdExtension(entry: DiameterAvp): SubscriptionId[] {
  const found: SubscriptionId[] = [];
  for (const item of groupedChildren(entry)) {
    if (item.vendorId !== 0 || item.code < 660 || item.code > 664) continue;
    found.push({ type: SUBSCRIPTION_ID_TYPES[item.code - 660]!, data: item.value as string });
  }
  return found;
}

function parseMoney(entry: DiameterAvp): CcMoney {
  const unitValue = child(entry, 445);
  if (unitValue === undefined) throw missing('Unit-Value', entry);
  const currency = child(entry, 425);
  const money: Mutable<CcMoney> = parseUnitValue(unitValue);
  if (currency !== undefined) money.currencyCode = currency.value as number;
  return money;
}

function parseUnitValue(entry: DiameterAvp): { valueDigits: bigint; exponent: number } {
  const digits = child(entry, 447);
  if (digits === undefined) throw missing('Value-Digits', entry);
  const exponent = child(entry, 429);
  return {
    valueDigits: digits.value as bigint,
    exponent: exponent === undefined ? 0 : (exponent.value as number),
  };
}

/** Reads the unit AVPs of a Requested-, Granted- or Used-Service-Unit. */
export function parseServiceUnits(entry: DiameterAvp): ServiceUnits {
  const units: Mutable<ServiceUnits> = {};
  for (const item of groupedChildren(entry)) {
    if (item.vendorId !== 0) continue;
    switch (item.code) {
      case 420:
        units.timeSec = item.value as number;
        break;
      case 421:
        units.totalOctets = item.value as bigint;
        break;
      case 412:
        units.inputOctets = item.value as bigint;
        break;
      case 414:
        units.outputOctets = item.value as bigint;
        break;
      case 417:
        units.serviceSpecificUnits = item.value as bigint;
        break;
      case 413:
        units.money = parseMoney(item);
        break;
    }
  }
  return units;
}

function parseUsedUnits(entry: DiameterAvp): UsedServiceUnits {
  const units: Mutable<UsedServiceUnits> = parseServiceUnits(entry);
  const reason = child(entry, 872, VENDOR_3GPP);
  const tariff = child(entry, 452);
  if (reason !== undefined) units.reportingReason = reasonOf(reason);
  if (tariff !== undefined)
    units.tariffChangeUsage = named(TARIFF_CHANGE_USAGES, tariff.value as number, tariff);
  return units;
}

/** Reporting-Reason by name; values of later 3GPP releases stay numbers rather than failing. */
function reasonOf(entry: DiameterAvp): ReportingReason | number {
  const value = entry.value as number;
  return REPORTING_REASONS[value] ?? value;
}

function parseServiceCredit(entry: DiameterAvp): ServiceCreditRequest {
  let ratingGroup: number | undefined;
  let requested: ServiceUnits | undefined;
  let reportingReason: ReportingReason | number | undefined;
  const serviceIdentifiers: number[] = [];
  const used: UsedServiceUnits[] = [];
  const triggerTypes: number[] = [];
  for (const item of groupedChildren(entry)) {
    if (item.vendorId === 0) {
      if (item.code === 432) ratingGroup = item.value as number;
      else if (item.code === 439) serviceIdentifiers.push(item.value as number);
      else if (item.code === 437) requested = parseServiceUnits(item);
      else if (item.code === 446) used.push(parseUsedUnits(item));
    } else if (item.vendorId === VENDOR_3GPP) {
      if (item.code === 872) reportingReason = reasonOf(item);
      else if (item.code === 1264) {
        for (const trigger of groupedChildren(item)) {
          if (trigger.code === 870 && trigger.vendorId === VENDOR_3GPP)
            triggerTypes.push(trigger.value as number);
        }
      }
    }
  }
  const service: Mutable<ServiceCreditRequest> = { serviceIdentifiers, used, triggerTypes, avp: entry };
  if (ratingGroup !== undefined) service.ratingGroup = ratingGroup;
  if (requested !== undefined) service.requested = requested;
  if (reportingReason !== undefined) service.reportingReason = reportingReason;
  return service;
}

// ---- The answer ----------------------------------------------------------------------------------

export interface FinalUnitIndication {
  readonly action: FinalUnitAction;
  /** Restriction-Filter-Rule (IPFilterRule text), for RESTRICT_ACCESS. */
  readonly restrictionFilterRules?: readonly string[];
  /** Filter-Id, for RESTRICT_ACCESS. */
  readonly filterIds?: readonly string[];
  /** Redirect-Server, for REDIRECT. */
  readonly redirectServer?: { readonly addressType: RedirectAddressType; readonly address: string };
}

export interface CostInformation {
  readonly unitValue: { readonly valueDigits: bigint; readonly exponent: number };
  /** ISO 4217 numeric code. */
  readonly currencyCode: number;
  readonly costUnit?: string;
}

/** One Multiple-Services-Credit-Control of a CCA. */
export interface ServiceCreditAnswer {
  readonly ratingGroup?: number;
  readonly serviceIdentifiers?: readonly number[];
  /** Result-Code of this rating group, e.g. 4012 CREDIT_LIMIT_REACHED while the command succeeds. */
  readonly resultCode?: number;
  readonly granted?: GrantedServiceUnits;
  readonly validityTimeSec?: number;
  readonly finalUnitIndication?: FinalUnitIndication;
  /** 3GPP Volume-Quota-Threshold: report when this many octets of the grant remain. */
  readonly volumeQuotaThresholdOctets?: number;
  /** 3GPP Time-Quota-Threshold: report when this many seconds of the grant remain. */
  readonly timeQuotaThresholdSec?: number;
  /** 3GPP Unit-Quota-Threshold. */
  readonly unitQuotaThreshold?: number;
  /** 3GPP Quota-Holding-Time: report after this many idle seconds. */
  readonly quotaHoldingTimeSec?: number;
  /** 3GPP Trigger-Type values armed for this rating group. */
  readonly triggerTypes?: readonly number[];
  readonly extraAvps?: readonly DiameterAvp[];
}

/** What the charging core returns for a CCR; the server adds the fixed AVPs of the CCA. */
export interface CreditControlAnswer {
  readonly resultCode: number;
  readonly services?: readonly ServiceCreditAnswer[];
  /** Command-level Granted-Service-Unit (single-service clients). */
  readonly granted?: GrantedServiceUnits;
  readonly validityTimeSec?: number;
  readonly finalUnitIndication?: FinalUnitIndication;
  readonly costInformation?: CostInformation;
  readonly checkBalanceResult?: CheckBalanceResult;
  readonly creditControlFailureHandling?: CreditControlFailureHandling;
  readonly directDebitingFailureHandling?: DirectDebitingFailureHandling;
  readonly errorMessage?: string;
  readonly failedAvp?: DiameterAvp;
  /** Further AVPs, appended before Proxy-Info. */
  readonly extraAvps?: readonly DiameterAvp[];
}

/** Who answers: our Origin-Host and Origin-Realm, and the Origin-State-Id when we send one. */
export interface LocalIdentity {
  readonly originHost: string;
  readonly originRealm: string;
  readonly originStateId?: number;
}

function unitAvps(units: ServiceUnits): DiameterAvp[] {
  const out: DiameterAvp[] = [];
  if (units.timeSec !== undefined) out.push(avp('CC-Time', units.timeSec));
  if (units.money !== undefined) out.push(moneyAvp(units.money));
  if (units.totalOctets !== undefined) out.push(avp('CC-Total-Octets', units.totalOctets));
  if (units.inputOctets !== undefined) out.push(avp('CC-Input-Octets', units.inputOctets));
  if (units.outputOctets !== undefined) out.push(avp('CC-Output-Octets', units.outputOctets));
  if (units.serviceSpecificUnits !== undefined)
    out.push(avp('CC-Service-Specific-Units', units.serviceSpecificUnits));
  return out;
}

function unitValueAvp(value: { readonly valueDigits: bigint; readonly exponent: number }): DiameterAvp {
  const children = [avp('Value-Digits', value.valueDigits)];
  if (value.exponent !== 0) children.push(avp('Exponent', value.exponent));
  return avp('Unit-Value', children);
}

function moneyAvp(money: CcMoney): DiameterAvp {
  const children = [unitValueAvp(money)];
  if (money.currencyCode !== undefined) children.push(avp('Currency-Code', money.currencyCode));
  return avp('CC-Money', children);
}

/** Builds a Requested-, Granted- or Used-Service-Unit AVP. */
export function serviceUnitsAvp(
  name: 'Requested-Service-Unit' | 'Granted-Service-Unit' | 'Used-Service-Unit',
  units: ServiceUnits & Partial<GrantedServiceUnits> & Partial<UsedServiceUnits>,
): DiameterAvp {
  // RFC 4006 section 8.17 and TS 32.299: Tariff-Time-Change / Tariff-Change-Usage and
  // Reporting-Reason come before the unit AVPs.
  const children: DiameterAvp[] = [];
  if (units.tariffTimeChangeMs !== undefined)
    children.push(avp('Tariff-Time-Change', units.tariffTimeChangeMs));
  if (units.tariffChangeUsage !== undefined)
    children.push(avp('Tariff-Change-Usage', units.tariffChangeUsage));
  children.push(...unitAvps(units));
  if (units.reportingReason !== undefined) children.push(avp('Reporting-Reason', units.reportingReason));
  return avp(name, children);
}

function finalUnitAvp(indication: FinalUnitIndication): DiameterAvp {
  const children = [avp('Final-Unit-Action', indication.action)];
  for (const rule of indication.restrictionFilterRules ?? [])
    children.push(avp('Restriction-Filter-Rule', rule));
  for (const filter of indication.filterIds ?? []) children.push(avp('Filter-Id', filter));
  if (indication.redirectServer !== undefined) {
    children.push(
      avp('Redirect-Server', [
        avp('Redirect-Address-Type', indication.redirectServer.addressType),
        avp('Redirect-Server-Address', indication.redirectServer.address),
      ]),
    );
  }
  return avp('Final-Unit-Indication', children);
}

function serviceAnswerAvp(service: ServiceCreditAnswer): DiameterAvp {
  // Order follows the MSCC grammar of RFC 4006 section 8.16 with the TS 32.299 additions after it.
  const children: DiameterAvp[] = [];
  if (service.granted !== undefined) children.push(serviceUnitsAvp('Granted-Service-Unit', service.granted));
  for (const id of service.serviceIdentifiers ?? []) children.push(avp('Service-Identifier', id));
  if (service.ratingGroup !== undefined) children.push(avp('Rating-Group', service.ratingGroup));
  if (service.validityTimeSec !== undefined) children.push(avp('Validity-Time', service.validityTimeSec));
  if (service.resultCode !== undefined) children.push(avp('Result-Code', service.resultCode));
  if (service.finalUnitIndication !== undefined) children.push(finalUnitAvp(service.finalUnitIndication));
  if (service.timeQuotaThresholdSec !== undefined)
    children.push(avp('Time-Quota-Threshold', service.timeQuotaThresholdSec));
  if (service.volumeQuotaThresholdOctets !== undefined) {
    children.push(avp('Volume-Quota-Threshold', service.volumeQuotaThresholdOctets));
  }
  if (service.unitQuotaThreshold !== undefined)
    children.push(avp('Unit-Quota-Threshold', service.unitQuotaThreshold));
  if (service.quotaHoldingTimeSec !== undefined)
    children.push(avp('Quota-Holding-Time', service.quotaHoldingTimeSec));
  if (service.triggerTypes !== undefined && service.triggerTypes.length > 0) {
    children.push(
      avp(
        'Trigger',
        service.triggerTypes.map((type) => avp('Trigger-Type', type)),
      ),
    );
  }
  if (service.extraAvps !== undefined) children.push(...service.extraAvps);
  return avp('Multiple-Services-Credit-Control', children);
}

/**
 * Builds the CCA for `request` (RFC 4006 section 3.2): Session-Id first, then Result-Code,
 * Origin-Host/Realm, Auth-Application-Id, CC-Request-Type and CC-Request-Number copied from the
 * request, the answer's own AVPs, and the request's Proxy-Info AVPs (RFC 6733 section 6.7.2).
 */
export function buildCreditControlAnswer(
  request: CreditControlRequest,
  answer: CreditControlAnswer,
  local: LocalIdentity,
): DiameterMessage {
  const avps: DiameterAvp[] = [
    avp('Session-Id', request.sessionId),
    avp('Result-Code', answer.resultCode),
    avp('Origin-Host', local.originHost),
    avp('Origin-Realm', local.originRealm),
    avp('Auth-Application-Id', DiameterApplication.CreditControl),
    avp('CC-Request-Type', CC_REQUEST_TYPES.indexOf(request.requestType) + 1),
    avp('CC-Request-Number', request.requestNumber),
  ];
  if (local.originStateId !== undefined) avps.push(avp('Origin-State-Id', local.originStateId));
  if (answer.granted !== undefined) avps.push(serviceUnitsAvp('Granted-Service-Unit', answer.granted));
  for (const service of answer.services ?? []) avps.push(serviceAnswerAvp(service));
  if (answer.costInformation !== undefined) {
    const cost = answer.costInformation;
    const children = [unitValueAvp(cost.unitValue), avp('Currency-Code', cost.currencyCode)];
    if (cost.costUnit !== undefined) children.push(avp('Cost-Unit', cost.costUnit));
    avps.push(avp('Cost-Information', children));
  }
  if (answer.finalUnitIndication !== undefined) avps.push(finalUnitAvp(answer.finalUnitIndication));
  if (answer.checkBalanceResult !== undefined)
    avps.push(avp('Check-Balance-Result', answer.checkBalanceResult));
  if (answer.creditControlFailureHandling !== undefined) {
    avps.push(avp('Credit-Control-Failure-Handling', answer.creditControlFailureHandling));
  }
  if (answer.directDebitingFailureHandling !== undefined) {
    avps.push(avp('Direct-Debiting-Failure-Handling', answer.directDebitingFailureHandling));
  }
  if (answer.validityTimeSec !== undefined) avps.push(avp('Validity-Time', answer.validityTimeSec));
  if (answer.errorMessage !== undefined) avps.push(avp('Error-Message', answer.errorMessage));
  if (answer.failedAvp !== undefined) avps.push(avp('Failed-AVP', [answer.failedAvp]));
  if (answer.extraAvps !== undefined) avps.push(...answer.extraAvps);
  avps.push(...findAvps(request.message, 'Proxy-Info'));
  return {
    // RFC 6733 section 7.1.3: a protocol error (3xxx) is only ever sent with the E bit set.
    flags:
      (request.message.flags & CommandFlag.Proxiable) |
      (isProtocolError(answer.resultCode) ? CommandFlag.Error : 0),
    commandCode: DiameterCommand.CreditControl,
    applicationId: DiameterApplication.CreditControl,
    hopByHopId: request.hopByHopId,
    endToEndId: request.endToEndId,
    avps,
  };
}

// ---- Client side: building a CCR, reading a CCA --------------------------------------------------

export interface ServiceCreditRequestInit {
  readonly ratingGroup?: number;
  readonly serviceIdentifiers?: readonly number[];
  readonly requested?: ServiceUnits;
  readonly used?: readonly UsedServiceUnits[];
  readonly reportingReason?: ReportingReason;
}

export interface CreditControlRequestInit {
  readonly sessionId: string;
  readonly originHost: string;
  readonly originRealm: string;
  readonly destinationRealm: string;
  readonly destinationHost?: string;
  readonly serviceContextId: string;
  readonly requestType: CcRequestType;
  readonly requestNumber: number;
  readonly requestedAction?: RequestedAction;
  readonly userName?: string;
  readonly eventTimestampMs?: number;
  readonly subscriptionIds?: readonly SubscriptionId[];
  readonly multipleServicesSupported?: boolean;
  readonly services?: readonly ServiceCreditRequestInit[];
  readonly requested?: ServiceUnits;
  readonly used?: readonly UsedServiceUnits[];
  readonly terminationCause?: number;
  readonly extraAvps?: readonly DiameterAvp[];
}

/** Builds a CCR (RFC 4006 section 3.1) for a client or a load generator. */
export function buildCreditControlRequest(
  init: CreditControlRequestInit,
  ids: { readonly hopByHopId: number; readonly endToEndId: number; readonly retransmission?: boolean },
): DiameterMessage {
  const avps: DiameterAvp[] = [
    avp('Session-Id', init.sessionId),
    avp('Origin-Host', init.originHost),
    avp('Origin-Realm', init.originRealm),
    avp('Destination-Realm', init.destinationRealm),
    avp('Auth-Application-Id', DiameterApplication.CreditControl),
    avp('Service-Context-Id', init.serviceContextId),
    avp('CC-Request-Type', CC_REQUEST_TYPES.indexOf(init.requestType) + 1),
    avp('CC-Request-Number', init.requestNumber),
  ];
  if (init.destinationHost !== undefined) avps.push(avp('Destination-Host', init.destinationHost));
  if (init.userName !== undefined) avps.push(avp('User-Name', init.userName));
  if (init.eventTimestampMs !== undefined) avps.push(avp('Event-Timestamp', init.eventTimestampMs));
  for (const id of init.subscriptionIds ?? []) {
    avps.push(
      avp('Subscription-Id', [avp('Subscription-Id-Type', id.type), avp('Subscription-Id-Data', id.data)]),
    );
  }
  if (init.terminationCause !== undefined) avps.push(avp('Termination-Cause', init.terminationCause));
  if (init.requestedAction !== undefined) avps.push(avp('Requested-Action', init.requestedAction));
  if (init.multipleServicesSupported !== undefined) {
    avps.push(avp('Multiple-Services-Indicator', init.multipleServicesSupported ? 1 : 0));
  }
  if (init.requested !== undefined) avps.push(serviceUnitsAvp('Requested-Service-Unit', init.requested));
  for (const used of init.used ?? []) avps.push(serviceUnitsAvp('Used-Service-Unit', used));
  for (const service of init.services ?? []) {
    const children: DiameterAvp[] = [];
    if (service.requested !== undefined)
      children.push(serviceUnitsAvp('Requested-Service-Unit', service.requested));
    for (const used of service.used ?? []) children.push(serviceUnitsAvp('Used-Service-Unit', used));
    for (const id of service.serviceIdentifiers ?? []) children.push(avp('Service-Identifier', id));
    if (service.ratingGroup !== undefined) children.push(avp('Rating-Group', service.ratingGroup));
    if (service.reportingReason !== undefined)
      children.push(avp('Reporting-Reason', service.reportingReason));
    avps.push(avp('Multiple-Services-Credit-Control', children));
  }
  if (init.extraAvps !== undefined) avps.push(...init.extraAvps);
  return {
    flags: CommandFlag.Request | CommandFlag.Proxiable | (ids.retransmission ? CommandFlag.Retransmitted : 0),
    commandCode: DiameterCommand.CreditControl,
    applicationId: DiameterApplication.CreditControl,
    hopByHopId: ids.hopByHopId,
    endToEndId: ids.endToEndId,
    avps,
  };
}

/** A CCA as a client reads it. */
export interface ParsedCreditControlAnswer {
  readonly sessionId: string | undefined;
  readonly resultCode: number | undefined;
  readonly originHost: string | undefined;
  readonly originRealm: string | undefined;
  readonly requestType: CcRequestType | undefined;
  readonly requestNumber: number | undefined;
  readonly services: readonly ServiceCreditAnswer[];
  readonly granted?: GrantedServiceUnits;
  readonly validityTimeSec?: number;
  readonly finalUnitIndication?: FinalUnitIndication;
  readonly costInformation?: CostInformation;
  readonly checkBalanceResult?: CheckBalanceResult;
  readonly errorMessage?: string;
  readonly failedAvp?: DiameterAvp;
  readonly message: DiameterMessage;
}

/**
 * Reads a CCA (or an error answer to a CCR). Lenient: a client wants to see what came back, so
 * absent fields are undefined rather than errors; an unknown enumeration value still gives 5004.
 */
export function parseCreditControlAnswer(message: DiameterMessage): ParsedCreditControlAnswer {
  const top = (code: number): DiameterAvp | undefined =>
    message.avps.find((a) => a.code === code && a.vendorId === 0);
  const str = (code: number): string | undefined => top(code)?.value as string | undefined;
  const num = (code: number): number | undefined => top(code)?.value as number | undefined;
  const type = top(416);
  const granted = top(431);
  const fui = top(430);
  const cost = top(423);
  const balance = top(422);
  const failed = top(279);
  const validity = num(448);
  const errorMessage = str(281);
  const failedChild = failed === undefined ? undefined : groupedChildren(failed)[0];
  return {
    sessionId: str(263),
    resultCode: num(268),
    originHost: str(264),
    originRealm: str(296),
    requestType: type === undefined ? undefined : named(CC_REQUEST_TYPES, (type.value as number) - 1, type),
    requestNumber: num(415),
    services: message.avps.filter((a) => a.code === 456 && a.vendorId === 0).map(parseServiceAnswer),
    ...(granted === undefined ? {} : { granted: parseGranted(granted) }),
    ...(validity === undefined ? {} : { validityTimeSec: validity }),
    ...(fui === undefined ? {} : { finalUnitIndication: parseFinalUnit(fui) }),
    ...(cost === undefined ? {} : { costInformation: parseCost(cost) }),
    ...(balance === undefined
      ? {}
      : { checkBalanceResult: named(CHECK_BALANCE_RESULTS, balance.value as number, balance) }),
    ...(errorMessage === undefined ? {} : { errorMessage }),
    ...(failedChild === undefined ? {} : { failedAvp: failedChild }),
    message,
  };
}

function parseGranted(entry: DiameterAvp): GrantedServiceUnits {
  const change = child(entry, 451);
  return {
    ...parseServiceUnits(entry),
    ...(change === undefined ? {} : { tariffTimeChangeMs: change.value as number }),
  };
}

function parseFinalUnit(entry: DiameterAvp): FinalUnitIndication {
  const action = child(entry, 449);
  if (action === undefined) throw missing('Final-Unit-Action', entry);
  const rules = groupedChildren(entry)
    .filter((a) => a.code === 438 && a.vendorId === 0)
    .map((a) => a.value as string);
  const filters = groupedChildren(entry)
    .filter((a) => a.code === 11 && a.vendorId === 0)
    .map((a) => a.value as string);
  const server = child(entry, 434);
  const addressType = server === undefined ? undefined : child(server, 433);
  const address = server === undefined ? undefined : child(server, 435);
  return {
    action: named(FINAL_UNIT_ACTIONS, action.value as number, action),
    ...(rules.length === 0 ? {} : { restrictionFilterRules: rules }),
    ...(filters.length === 0 ? {} : { filterIds: filters }),
    ...(addressType === undefined || address === undefined
      ? {}
      : {
          redirectServer: {
            addressType: named(REDIRECT_ADDRESS_TYPES, addressType.value as number, addressType),
            address: address.value as string,
          },
        }),
  };
}

function parseCost(entry: DiameterAvp): CostInformation {
  const unitValue = child(entry, 445);
  if (unitValue === undefined) throw missing('Unit-Value', entry);
  const currency = child(entry, 425);
  if (currency === undefined) throw missing('Currency-Code', entry);
  const unit = child(entry, 424);
  return {
    unitValue: parseUnitValue(unitValue),
    currencyCode: currency.value as number,
    ...(unit === undefined ? {} : { costUnit: unit.value as string }),
  };
}

function parseServiceAnswer(entry: DiameterAvp): ServiceCreditAnswer {
  const get = (code: number, vendorId = 0): number | undefined =>
    child(entry, code, vendorId)?.value as number | undefined;
  const granted = child(entry, 431);
  const fui = child(entry, 430);
  const trigger = child(entry, 1264, VENDOR_3GPP);
  const ids = groupedChildren(entry)
    .filter((a) => a.code === 439 && a.vendorId === 0)
    .map((a) => a.value as number);
  const fields: Record<string, unknown> = {
    ratingGroup: get(432),
    resultCode: get(268),
    validityTimeSec: get(448),
    timeQuotaThresholdSec: get(868, VENDOR_3GPP),
    volumeQuotaThresholdOctets: get(869, VENDOR_3GPP),
    unitQuotaThreshold: get(1226, VENDOR_3GPP),
    quotaHoldingTimeSec: get(871, VENDOR_3GPP),
    granted: granted === undefined ? undefined : parseGranted(granted),
    finalUnitIndication: fui === undefined ? undefined : parseFinalUnit(fui),
    serviceIdentifiers: ids.length === 0 ? undefined : ids,
    triggerTypes: trigger === undefined ? undefined : groupedChildren(trigger).map((a) => a.value as number),
  };
  for (const key of Object.keys(fields)) if (fields[key] === undefined) delete fields[key];
  return fields as ServiceCreditAnswer;
}

// ---- Re-Auth-Request / Answer --------------------------------------------------------------------

export interface ReAuthRequestInit {
  readonly sessionId: string;
  readonly originHost: string;
  readonly originRealm: string;
  readonly destinationHost: string;
  readonly destinationRealm: string;
  /** Re-Auth-Request-Type; AUTHORIZE_ONLY (0) by default, as credit control uses it. */
  readonly reAuthRequestType?: 'AUTHORIZE_ONLY' | 'AUTHORIZE_AUTHENTICATE';
  readonly userName?: string;
  readonly originStateId?: number;
  /** Re-authorize one rating group only (RFC 4006 section 5.5); all of them when absent. */
  readonly ratingGroup?: number;
  readonly serviceIdentifier?: number;
  readonly extraAvps?: readonly DiameterAvp[];
}

/** Builds a RAR (RFC 6733 section 8.3.1 with the RFC 4006 section 3.3 additions). */
export function buildReAuthRequest(
  init: ReAuthRequestInit,
  ids: { readonly hopByHopId: number; readonly endToEndId: number },
): DiameterMessage {
  const avps: DiameterAvp[] = [
    avp('Session-Id', init.sessionId),
    avp('Origin-Host', init.originHost),
    avp('Origin-Realm', init.originRealm),
    avp('Destination-Realm', init.destinationRealm),
    avp('Destination-Host', init.destinationHost),
    avp('Auth-Application-Id', DiameterApplication.CreditControl),
    avp('Re-Auth-Request-Type', init.reAuthRequestType ?? 'AUTHORIZE_ONLY'),
  ];
  if (init.userName !== undefined) avps.push(avp('User-Name', init.userName));
  if (init.originStateId !== undefined) avps.push(avp('Origin-State-Id', init.originStateId));
  if (init.serviceIdentifier !== undefined) avps.push(avp('Service-Identifier', init.serviceIdentifier));
  if (init.ratingGroup !== undefined) avps.push(avp('Rating-Group', init.ratingGroup));
  if (init.extraAvps !== undefined) avps.push(...init.extraAvps);
  return {
    flags: CommandFlag.Request | CommandFlag.Proxiable,
    commandCode: DiameterCommand.ReAuth,
    applicationId: DiameterApplication.CreditControl,
    hopByHopId: ids.hopByHopId,
    endToEndId: ids.endToEndId,
    avps,
  };
}

export interface ReAuthAnswer {
  readonly sessionId: string;
  /** Result-Code, or Experimental-Result-Code when the peer answered with Experimental-Result. */
  readonly resultCode: number;
  readonly originHost: string;
  readonly originRealm: string;
  readonly errorMessage?: string;
  readonly message: DiameterMessage;
}

/** Reads a RAA (RFC 6733 section 8.3.2); 5005 when Session-Id, a result or the origin is missing. */
export function parseReAuthAnswer(message: DiameterMessage): ReAuthAnswer {
  const top = (code: number): DiameterAvp | undefined =>
    message.avps.find((a) => a.code === code && a.vendorId === 0);
  const sessionId = top(263);
  const originHost = top(264);
  const originRealm = top(296);
  const experimental = top(297);
  const resultCode = (top(268)?.value ??
    (experimental === undefined ? undefined : child(experimental, 298)?.value)) as number | undefined;
  const errorMessage = top(281)?.value as string | undefined;
  if (sessionId === undefined) throw missing('Session-Id');
  if (resultCode === undefined) throw missing('Result-Code');
  if (originHost === undefined) throw missing('Origin-Host');
  if (originRealm === undefined) throw missing('Origin-Realm');
  return {
    sessionId: sessionId.value as string,
    resultCode,
    originHost: originHost.value as string,
    originRealm: originRealm.value as string,
    ...(errorMessage === undefined ? {} : { errorMessage }),
    message,
  };
}

/** Builds the RAA a client sends back (used by the test client and load generators). */
export function buildReAuthAnswer(
  request: DiameterMessage,
  resultCode: number,
  local: LocalIdentity,
): DiameterMessage {
  const sessionId = request.avps.find((a) => a.code === 263 && a.vendorId === 0);
  const avps: DiameterAvp[] = [];
  if (sessionId !== undefined) avps.push(sessionId);
  avps.push(
    avp('Result-Code', resultCode),
    avp('Origin-Host', local.originHost),
    avp('Origin-Realm', local.originRealm),
  );
  if (local.originStateId !== undefined) avps.push(avp('Origin-State-Id', local.originStateId));
  avps.push(...findAvps(request, 'Proxy-Info'));
  return {
    flags: request.flags & CommandFlag.Proxiable,
    commandCode: request.commandCode,
    applicationId: request.applicationId,
    hopByHopId: request.hopByHopId,
    endToEndId: request.endToEndId,
    avps,
  };
}
