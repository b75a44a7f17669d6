/**
 * Nchf_ConvergedCharging over the charging engine: translates a ChargingDataRequest into one
 * online charging request of the engine (workflows/charging.ts) and its outcome back into a
 * ChargingDataResponse. Nothing is charged here; the engine reserves, commits and releases, and
 * answers only once what it changed is committed.
 *
 * The mapping (docs/nchf.md has the table):
 * - the charging data reference is the engine's session id; invocationSequenceNumber is the
 *   request number, so a repeated request is answered from the session's last outcome and never
 *   charges twice. A create that carries a PDU session's chargingId gets a reference derived from
 *   (consumer, subscriber, chargingId), so a create the SMF sends again (its answer was lost)
 *   finds the same session instead of reserving twice;
 * - subscriberIdentifier imsi-/msisdn-/nai- names the subscriber; a later request may leave it
 *   out, the session knows whose it is;
 * - the service is voice with IMS charging information, SMS with SMS charging information, data
 *   otherwise; units are seconds (time), bytes (totalVolume, else uplink + downlink) and events
 *   (serviceSpecificUnits);
 * - requestedUnit asks for a grant (its value, or the policy's default when it names none);
 *   usedUnitContainer reports usage (the containers are summed); release ends the session.
 */
import { createHash, randomUUID } from 'node:crypto';
import { msFromInstant, parseInstant } from '../../kernel/clock.js';
import type { BaseUnit } from '../../kernel/quantity.js';
import type { Principal } from '../../access/index.js';
import type { IdentityType } from '../../customers/index.js';
import type { ChargingOutcome, RatingGroupOutcome } from '../../charging/index.js';
import {
  UNIT_OF_SERVICE,
  type ChargingEngine,
  type OnlineChargingInput,
  type OnlineItem,
} from '../../workflows/charging.js';
import type {
  ChargingDataRequest,
  ChargingDataResponse,
  GrantedUnit,
  MultipleUnitInformation,
  MultipleUnitUsage,
  ResultCode,
} from './model.js';
import { chargingDataNotFound, chargingFailure, type ChargingFailure } from './problem.js';
import type { ChargingDataCreated, ChargingRequestContext, ConvergedChargingHandler } from './server.js';

type Service = OnlineItem['service'];

/** The engine's handler for the Nchf server; callers are API principals (network-element keys). */
export function engineChargingHandler(engine: ChargingEngine): ConvergedChargingHandler<Principal> {
  return {
    async create(request, context): Promise<ChargingDataCreated | ChargingFailure> {
      const subscriber = subscriberOf(request.subscriberIdentifier);
      if (subscriber === undefined) {
        return chargingFailure(
          'USER_UNKNOWN',
          `subscriberIdentifier: ${request.subscriberIdentifier ?? '(missing)'} names no subscriber this CHF can charge (imsi-, msisdn- or nai-)`,
        );
      }
      const ref = referenceOf(context.caller.tenantId, request, subscriber.identity);
      const answer = await run(engine, ref, request, context, { ...subscriber });
      return 'ok' in answer ? answer : { ref, response: answer };
    },

    async update(ref, request, context): Promise<ChargingDataResponse | ChargingFailure> {
      const who = await knownSession(engine, context.caller.tenantId, ref);
      if (who === undefined) return chargingDataNotFound(ref);
      return run(engine, ref, request, context, who);
    },

    async release(ref, request, context): Promise<void | ChargingFailure> {
      const who = await knownSession(engine, context.caller.tenantId, ref);
      if (who === undefined) return chargingDataNotFound(ref);
      const answer = await run(engine, ref, request, context, who, true);
      if ('ok' in answer) return answer;
      return undefined;
    },
  };
}

interface Subscriber {
  readonly identityType?: IdentityType;
  readonly identity?: string;
  readonly subscriptionId?: string;
}

async function knownSession(
  engine: ChargingEngine,
  tenantId: string,
  ref: string,
): Promise<Subscriber | undefined> {
  const session = await engine.findSession(tenantId, ref);
  return session === undefined ? undefined : { subscriptionId: session.subscriptionId };
}

async function run(
  engine: ChargingEngine,
  ref: string,
  request: ChargingDataRequest,
  context: ChargingRequestContext<Principal>,
  subscriber: Subscriber,
  terminate = false,
): Promise<ChargingDataResponse | ChargingFailure> {
  const service = serviceOf(request);
  const atMs = instantMs(request.invocationTimeStamp) ?? context.receivedMs;
  const input: OnlineChargingInput = {
    tenantId: context.caller.tenantId,
    sessionId: ref,
    requestNumber: request.invocationSequenceNumber,
    ...subscriber,
    atMs,
    protocol: 'nchf',
    ...(request.notifyUri === undefined ? {} : { notifyUri: request.notifyUri }),
    ...(terminate ? { terminate: true } : {}),
    items: (request.multipleUnitUsage ?? []).map((usage) => itemOf(usage, service, request)),
  };
  const { outcome } = await engine.charge(input);
  const failure = failureOf(outcome, ref);
  if (failure !== undefined) return failure;
  return {
    invocationTimeStamp: new Date(context.receivedMs).toISOString(),
    invocationSequenceNumber: request.invocationSequenceNumber,
    multipleUnitInformation: outcome.items.map((item) => unitInformation(item, service, atMs)),
  };
}

function itemOf(usage: MultipleUnitUsage, service: Service, request: ChargingDataRequest): OnlineItem {
  const unit = UNIT_OF_SERVICE[service];
  let used: bigint | undefined;
  for (const container of usage.usedUnitContainer ?? []) {
    const units = unitsIn(container, unit);
    if (units !== undefined) used = (used ?? 0n) + units;
  }
  const requested =
    usage.requestedUnit === undefined ? undefined : (unitsIn(usage.requestedUnit, unit) ?? 'default');
  const called = calledNumberOf(request);
  return {
    ratingGroup: usage.ratingGroup,
    service,
    unit,
    ...(used === undefined ? {} : { usedUnits: used }),
    ...(requested === undefined ? {} : { requestedUnits: requested }),
    ...(called === undefined ? {} : { calledNumber: called }),
  };
}

/** The units of `unit` a requested unit or a used unit container counts; undefined when none. */
function unitsIn(
  counts: {
    readonly time?: number;
    readonly totalVolume?: number;
    readonly uplinkVolume?: number;
    readonly downlinkVolume?: number;
    readonly serviceSpecificUnits?: number;
  },
  unit: BaseUnit,
): bigint | undefined {
  switch (unit) {
    case 'second':
      return counts.time === undefined ? undefined : BigInt(counts.time);
    case 'byte':
      if (counts.totalVolume !== undefined) return BigInt(counts.totalVolume);
      if (counts.uplinkVolume === undefined && counts.downlinkVolume === undefined) return undefined;
      return BigInt(counts.uplinkVolume ?? 0) + BigInt(counts.downlinkVolume ?? 0);
    default:
      return counts.serviceSpecificUnits === undefined ? undefined : BigInt(counts.serviceSpecificUnits);
  }
}

function serviceOf(request: ChargingDataRequest): Service {
  if (request.iMSChargingInformation !== undefined) return 'voice';
  if (request.sMSChargingInformation !== undefined) return 'sms';
  return 'data';
}

/** The called party of a voice call or an SMS, as E.164 digits, when the request names one. */
function calledNumberOf(request: ChargingDataRequest): string | undefined {
  const ims = request.iMSChargingInformation as { calledPartyAddress?: string } | undefined;
  const sms = request.sMSChargingInformation as
    { recipientInfo?: ReadonlyArray<{ recipientOtherAddress?: { sMaddressData?: string } }> } | undefined;
  const raw = ims?.calledPartyAddress ?? sms?.recipientInfo?.[0]?.recipientOtherAddress?.sMaddressData;
  if (raw === undefined) return undefined;
  const digits = raw
    .replace(/^(tel:|sip:)/, '')
    .replace(/[@;].*$/, '')
    .replace(/^\+/, '');
  return /^\d{4,15}$/.test(digits) ? digits : undefined;
}

/** SUPI/GPSI of TS 29.571: imsi-<digits>, msisdn-<digits>, nai-<user@realm>. */
function subscriberOf(identifier: string | undefined): Subscriber | undefined {
  if (identifier === undefined) return undefined;
  const dash = identifier.indexOf('-');
  if (dash < 0) return undefined;
  const kind = identifier.slice(0, dash);
  const value = identifier.slice(dash + 1);
  if (value === '') return undefined;
  if (kind === 'imsi') return { identityType: 'imsi', identity: value };
  if (kind === 'msisdn') return { identityType: 'msisdn', identity: value };
  if (kind === 'nai') return { identityType: 'nai', identity: value };
  return undefined;
}

/**
 * The charging data reference of a create. With a chargingId (a PDU session) it is derived, so a
 * create sent again finds its session; otherwise it is new.
 */
function referenceOf(tenantId: string, request: ChargingDataRequest, identity: string | undefined): string {
  const chargingId = request.pDUSessionChargingInformation?.chargingId;
  if (chargingId === undefined) return `chg_${randomUUID().replaceAll('-', '')}`;
  const consumer =
    request.nfConsumerIdentification.nFName ?? request.nfConsumerIdentification.nodeFunctionality;
  const digest = createHash('sha256')
    .update(`${tenantId}\u0000${consumer}\u0000${identity ?? ''}\u0000${chargingId}`)
    .digest('hex');
  return `chg_${digest.slice(0, 32)}`;
}

function instantMs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const instant = parseInstant(text);
  return instant === undefined ? undefined : msFromInstant(instant);
}

function failureOf(outcome: ChargingOutcome, ref: string): ChargingFailure | undefined {
  switch (outcome.code) {
    case 'ok':
      return undefined;
    case 'user_unknown':
      return chargingFailure('USER_UNKNOWN', outcome.message);
    case 'session_terminated':
      return chargingDataNotFound(ref);
    default:
      // invalid_request, request_mismatch, stale_request: the request cannot be charged as sent.
      return chargingFailure('CHARGING_FAILED', `${outcome.code}: ${outcome.message}`);
  }
}

function unitInformation(item: RatingGroupOutcome, service: Service, atMs: number): MultipleUnitInformation {
  const resultCode = resultCodeOf(item);
  const info: {
    resultCode?: ResultCode;
    ratingGroup: number;
    grantedUnit?: GrantedUnit;
    validityTime?: number;
    finalUnitIndication?: MultipleUnitInformation['finalUnitIndication'];
  } = { ratingGroup: item.ratingGroup };
  if (resultCode !== undefined) info.resultCode = resultCode;
  if (item.grantedUnits > 0n) {
    const units = Number(item.grantedUnits);
    info.grantedUnit =
      UNIT_OF_SERVICE[service] === 'second'
        ? { time: units }
        : UNIT_OF_SERVICE[service] === 'byte'
          ? { totalVolume: units }
          : { serviceSpecificUnits: units };
    info.validityTime = Math.max(1, Math.floor((item.expiresAtMs - atMs) / 1000));
    if (item.finalUnits) info.finalUnitIndication = { finalUnitAction: 'TERMINATE' };
  }
  return info;
}

function resultCodeOf(item: RatingGroupOutcome): ResultCode | undefined {
  switch (item.grantCode) {
    case undefined:
      return item.commitCode === 'rating_failed' ? 'RATING_FAILED' : 'SUCCESS';
    case 'granted':
    case 'partially_granted':
      return 'SUCCESS';
    case 'rating_failed':
      return 'RATING_FAILED';
    default:
      // quota_limit_reached, spending_cap_reached, no_balance: the balances cannot pay.
      return 'QUOTA_LIMIT_REACHED';
  }
}
