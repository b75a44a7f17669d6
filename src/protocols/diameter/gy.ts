/**
 * Diameter Gy/Ro over the charging engine: the CreditControlHandler that turns a
 * Credit-Control-Request (RFC 4006 / RFC 8506, 3GPP TS 32.299) into online charging requests of
 * the engine (workflows/charging.ts) and their outcomes back into a Credit-Control-Answer. Nothing
 * is charged here: the engine reserves, commits and releases, and answers only once what it
 * changed is committed. docs/diameter.md ("Charging over the engine") has the tables.
 *
 * Sessions (INITIAL, UPDATE, TERMINATE):
 * - Session-Id is the engine's session id and CC-Request-Number its request number, so a request
 *   the client sends again (T flag, or not) is answered from the session's last outcome and never
 *   charged twice;
 * - Subscription-Id names the subscriber (END_USER_E164 → msisdn, END_USER_IMSI → imsi,
 *   END_USER_SIP_URI → sip-uri, END_USER_NAI → nai; END_USER_PRIVATE is not used). With several,
 *   they are tried in that order until one is known; a later request that names none is charged to
 *   the subscription the session belongs to;
 * - each Multiple-Services-Credit-Control is one item: its Rating-Group (else its first
 *   Service-Identifier), the service from the Service-Identifier table, else the Service-Context-Id
 *   table, else the configured default; Used-Service-Unit(s) are the usage report, in the service's
 *   unit; Requested-Service-Unit asks for a grant (its value, or the policy's default when empty);
 * - a client without MSCC (single-service, RFC 4006 section 5.1.1) uses the command-level
 *   Requested-/Used-Service-Unit, charged under rating group Service-Identifier (or 0) and answered
 *   at command level.
 *
 * EVENT requests (RFC 4006 section 6) by Requested-Action (DIRECT_DEBITING when absent):
 * - DIRECT_DEBITING reserves and commits in one go through two engine requests of a derived
 *   session `${Session-Id}#event/${CC-Request-Number}`: request 0 reserves the units, request 1
 *   commits exactly the units granted and ends the session. The network's own numbering is never
 *   used for the internal second request, and a repeated event replays both engine requests.
 *   Only a full grant is debited; less than asked is 4012 and nothing is charged;
 * - REFUND_ACCOUNT credits the account's first money balance (consumption order) with the price of
 *   the units (or the CC-Money given), once per Session-Id and CC-Request-Number;
 * - CHECK_BALANCE answers ENOUGH_CREDIT when the balances could pay every item's units now;
 * - PRICE_ENQUIRY answers Cost-Information with the price of the units.
 */
import {
  availableOf,
  isValidAt,
  matchesScope,
  maxAffordableUnits,
  priceOf,
  type ChargingOutcome,
  type ChargingState,
  type Pricing,
  type RatingGroupOutcome,
} from '../../charging/index.js';
import { tryNormaliseIdentity, type IdentityType } from '../../customers/index.js';
import type { Clock } from '../../kernel/clock.js';
import type { BaseUnit } from '../../kernel/quantity.js';
import type { UsageService } from '../../usage/index.js';
import {
  UNIT_OF_SERVICE,
  type ChargingEngine,
  type OnlineChargingInput,
  type OnlineChargingResult,
  type OnlineItem,
} from '../../workflows/charging.js';
import { avp, findAvp, type DiameterAvp } from './codec.js';
import type {
  CcMoney,
  CostInformation,
  CreditControlAnswer,
  CreditControlRequest,
  GrantedServiceUnits,
  ServiceCreditAnswer,
  ServiceUnits,
  SubscriptionIdType,
  UsedServiceUnits,
} from './credit-control.js';
import { ResultCode } from './result-codes.js';
import type { CreditControlHandler } from './server.js';

// ---- Tables --------------------------------------------------------------------------------------

/**
 * The service a Service-Context-Id names. TS 32.299 section 7.1.12 writes the context as
 * `[[[[extensions.]MNC.]MCC.]release.]<spec>@3gpp.org`, so the table is keyed by its last label,
 * `<spec>@3gpp.org`, the number of the 3GPP charging specification of the domain.
 */
export const SERVICE_OF_CONTEXT: Readonly<Record<string, UsageService>> = {
  '32251@3gpp.org': 'data', // PS domain (GGSN, P-GW, SMF over Gy)
  '32260@3gpp.org': 'voice', // IMS (Ro from the S-CSCF, AS, MRFC)
  '32270@3gpp.org': 'mms', // MMS
  '32274@3gpp.org': 'sms', // SMS (SMSC, IP-SM-GW)
  '32275@3gpp.org': 'voice', // MMTel
  '32276@3gpp.org': 'voice', // voice call service (CS domain)
};

/**
 * ISO 4217 numeric codes for Currency-Code (RFC 4006 section 8.11), for the currencies accounts
 * are most often kept in. An account in a currency missing here can be charged, but cannot answer
 * PRICE_ENQUIRY or carry Cost-Information (5012, naming the currency); add the code here.
 */
export const ISO_4217_NUMERIC: Readonly<Record<string, number>> = {
  AED: 784,
  AUD: 36,
  BGN: 975,
  BHD: 48,
  BRL: 986,
  CAD: 124,
  CHF: 756,
  CNY: 156,
  CZK: 203,
  DKK: 208,
  EGP: 818,
  EUR: 978,
  GBP: 826,
  HKD: 344,
  HUF: 348,
  ILS: 376,
  INR: 356,
  ISK: 352,
  JPY: 392,
  KES: 404,
  KRW: 410,
  KWD: 414,
  MXN: 484,
  NGN: 566,
  NOK: 578,
  NZD: 554,
  PLN: 985,
  RON: 946,
  SAR: 682,
  SEK: 752,
  SGD: 702,
  TRY: 949,
  USD: 840,
  ZAR: 710,
};

/** Subscription-Id-Type → the identity type of the subscriber directory, in the order tried. */
const IDENTITY_OF_SUBSCRIPTION_ID: ReadonlyArray<readonly [SubscriptionIdType, IdentityType]> = [
  ['END_USER_E164', 'msisdn'],
  ['END_USER_IMSI', 'imsi'],
  ['END_USER_SIP_URI', 'sip-uri'],
  ['END_USER_NAI', 'nai'],
];

/** Pico-units (10^-12 of the major unit) are what the engine prices and balances count. */
const PICO_EXPONENT = -12;

// ---- The handler ---------------------------------------------------------------------------------

/** What the handler needs of the engine (the whole ChargingEngine in production). */
export type GyEngine = Pick<
  ChargingEngine,
  'charge' | 'quote' | 'adjustOnce' | 'findSession' | 'sessionGrants'
>;

export interface GyHandlerOptions {
  readonly engine: GyEngine;
  /** The tenant whose subscribers this Diameter server charges. */
  readonly tenantId: string;
  /** Gives the event instant when a request carries no Event-Timestamp. */
  readonly clock: Clock;
  /** The service of a context neither table knows; `data` by default. */
  readonly defaultService?: UsageService;
  /** Further or overriding Service-Context-Id entries (`<spec>@3gpp.org` or a whole context). */
  readonly serviceContexts?: Readonly<Record<string, UsageService>>;
  /** Service-Identifier → service, checked before the context (operator-specific values). */
  readonly serviceIdentifiers?: Readonly<Record<number, UsageService>>;
}

/** One MSCC (or the command-level units of a single-service client), ready for the engine. */
interface Line {
  /** Answer at command level (single-service client) instead of in an MSCC. */
  readonly commandLevel: boolean;
  /** As the request gave them, echoed in the answer. */
  readonly ratingGroup: number | undefined;
  readonly serviceIdentifiers: readonly number[];
  readonly service: UsageService;
  readonly unit: BaseUnit;
  /** The engine's item; undefined when the line is refused before the engine (`resultCode`). */
  readonly item: OnlineItem | undefined;
  readonly resultCode?: number;
  readonly errorMessage?: string;
  /** Requested-Service-Unit as sent (for CC-Money in refunds). */
  readonly requested: ServiceUnits | undefined;
}

interface Subscriber {
  readonly identityType?: IdentityType;
  readonly identity?: string;
  readonly subscriptionId?: string;
}

/** The Gy/Ro credit-control handler over the charging engine. */
export function gyCreditControlHandler(options: GyHandlerOptions): CreditControlHandler {
  const { engine, tenantId, clock } = options;
  const contexts = { ...SERVICE_OF_CONTEXT, ...options.serviceContexts };
  const defaultService = options.defaultService ?? 'data';
  // Refunds in progress by reference, so a duplicate that arrives while the first is being
  // credited waits for it instead of crediting again (adjustOnce looks at what is committed).
  const refunds = new Map<string, Promise<CreditControlAnswer>>();

  function serviceOf(request: CreditControlRequest, serviceIdentifiers: readonly number[]): UsageService {
    for (const id of serviceIdentifiers) {
      const byId = options.serviceIdentifiers?.[id];
      if (byId !== undefined) return byId;
    }
    const context = request.serviceContextId.toLowerCase();
    const spec = /(?:^|\.)(\d+@3gpp\.org)$/.exec(context)?.[1];
    return contexts[context] ?? (spec === undefined ? undefined : contexts[spec]) ?? defaultService;
  }

  async function subscribersOf(request: CreditControlRequest): Promise<Subscriber[]> {
    const found: Subscriber[] = [];
    for (const [type, identityType] of IDENTITY_OF_SUBSCRIPTION_ID) {
      for (const id of request.subscriptionIds) {
        if (id.type !== type) continue;
        const normalised = tryNormaliseIdentity(identityType, id.data);
        if (normalised.ok) found.push({ identityType, identity: normalised.value });
      }
    }
    if (found.length > 0 || request.requestType === 'EVENT') return found;
    // A later request of a session may leave the subscriber out: the session knows whose it is.
    const session = await engine.findSession(tenantId, request.sessionId);
    return session === undefined ? [] : [{ subscriptionId: session.subscriptionId }];
  }

  /** Charges as each subscriber in turn until one is known (a refusal changes nothing). */
  async function chargeAs(
    subscribers: readonly Subscriber[],
    input: Omit<OnlineChargingInput, 'tenantId' | 'protocol'>,
  ): Promise<OnlineChargingResult | undefined> {
    let result: OnlineChargingResult | undefined;
    for (const who of subscribers) {
      result = await engine.charge({ ...input, ...who, tenantId, protocol: 'diameter' });
      if (result.outcome.code !== 'user_unknown') return result;
    }
    return result;
  }

  async function quoteAs(
    subscribers: readonly Subscriber[],
    input: Omit<OnlineChargingInput, 'tenantId' | 'protocol'>,
  ): Promise<Awaited<ReturnType<GyEngine['quote']>>> {
    for (const who of subscribers) {
      const quote = await engine.quote({ ...input, ...who, tenantId, protocol: 'diameter' });
      if (quote !== undefined) return quote;
    }
    return undefined;
  }

  async function session(
    request: CreditControlRequest,
    lines: readonly Line[],
    subscribers: readonly Subscriber[],
    atMs: number,
  ): Promise<CreditControlAnswer> {
    const terminate = request.requestType === 'TERMINATE';
    const items = engineItems(lines, terminate ? 'drop' : 'keep');
    const result = await chargeAs(subscribers, {
      sessionId: request.sessionId,
      requestNumber: request.requestNumber,
      atMs,
      ...(terminate ? { terminate: true } : {}),
      items,
    });
    if (result === undefined) return unknownSubscriber(request);
    const refused = requestRefusal(result.outcome);
    if (refused !== undefined) return refused;
    return answerOf(lines, result.outcome.items, (item) => grantAnswer(item, atMs));
  }

  async function directDebit(
    request: CreditControlRequest,
    lines: readonly Line[],
    subscribers: readonly Subscriber[],
    atMs: number,
  ): Promise<CreditControlAnswer> {
    const sessionId = `${request.sessionId}#event/${request.requestNumber}`;
    const reserve = await chargeAs(subscribers, {
      sessionId,
      requestNumber: 0,
      atMs,
      items: engineItems(lines, 'debit'),
    });
    if (reserve === undefined) return unknownSubscriber(request);
    // A repeated event finds its session past request 0 (the engine replays only a session's last
    // request): what request 0 granted is read back from the session's reservations instead.
    const granted =
      reserve.outcome.code === 'stale_request'
        ? await engine.sessionGrants(
            tenantId,
            sessionId,
            engineItems(lines, 'keep').map((item) => item.ratingGroup),
          )
        : reserve.outcome.items;
    if (granted === undefined) {
      return requestRefusal(reserve.outcome) ?? { resultCode: ResultCode.DIAMETER_UNABLE_TO_COMPLY };
    }
    const refused = requestRefusal(reserve.outcome, true);
    if (refused !== undefined) return refused;
    // Commit exactly what was granted, for full grants only; the end of the session releases the
    // rest. The second request is derived from the first one's grants, so a repeated event
    // derives the same request and the engine replays it.
    const commit = await chargeAs([{ subscriptionId: reserve.subscriptionId as string }], {
      sessionId,
      requestNumber: 1,
      atMs,
      terminate: true,
      items: engineItems(lines, 'keep').flatMap((item, index) => {
        const outcome = granted[index] as RatingGroupOutcome;
        if (outcome.grantCode !== 'granted') return [];
        const { requestedUnits: _requested, usedUnits: _used, ...rest } = item;
        return [{ ...rest, usedUnits: outcome.grantedUnits }];
      }),
    });
    const commitRefused = commit === undefined ? undefined : requestRefusal(commit.outcome);
    if (commit === undefined || commitRefused !== undefined) {
      return commitRefused ?? { resultCode: ResultCode.DIAMETER_UNABLE_TO_COMPLY };
    }
    const charged = new Map(commit.outcome.items.map((item) => [item.ratingGroup, item]));
    let chargedPico = 0n;
    const answer = answerOf(lines, granted, (item) => {
      if (item.grantCode === 'partially_granted') {
        return { resultCode: ResultCode.DIAMETER_CREDIT_LIMIT_REACHED };
      }
      const debit = item.grantCode === 'granted' ? charged.get(item.ratingGroup) : undefined;
      if (debit === undefined) return { resultCode: grantResultCode(item) };
      chargedPico += debit.chargedPico;
      // A commit of granted units at the grant's own price always fits; only a price that fails
      // between the two requests (a catalog change) can leave it short.
      return debit.commitCode === 'committed'
        ? { resultCode: ResultCode.DIAMETER_SUCCESS, grantedUnits: debit.chargedUnits }
        : { resultCode: ResultCode.DIAMETER_RATING_FAILED };
    });
    const cost = costOf(chargedPico, reserve.currency ?? '');
    return chargedPico > 0n && cost !== undefined ? { ...answer, costInformation: cost } : answer;
  }

  async function refund(
    request: CreditControlRequest,
    lines: readonly Line[],
    subscribers: readonly Subscriber[],
    atMs: number,
  ): Promise<CreditControlAnswer> {
    const quote = await quoteAs(subscribers, {
      ...eventInput(request, atMs),
      items: engineItems(lines, 'keep'),
    });
    if (quote === undefined) return unknownSubscriber(request);
    let amountPico = 0n;
    for (const [index, line] of lines.entries()) {
      if (line.item === undefined) return lineRefusal(line);
      const money = line.requested?.money;
      if (money !== undefined) {
        const pico = picoOfCcMoney(money, quote.currency);
        if (typeof pico === 'string')
          return { resultCode: ResultCode.DIAMETER_INVALID_AVP_VALUE, errorMessage: pico };
        amountPico += pico;
        continue;
      }
      const units = unitsOf(line.item);
      if (units === undefined) return missingUnits();
      const price = priceOf(quote.pricing[index] as Pricing, units);
      if (price === undefined) return ratingFailed(line);
      amountPico += price;
    }
    const balance = refundBalanceOf(quote, lines, atMs);
    if (balance === undefined) {
      return {
        resultCode: ResultCode.DIAMETER_UNABLE_TO_COMPLY,
        errorMessage: `account ${quote.accountId} has no money balance to refund into`,
      };
    }
    const cost = costOf(amountPico, quote.currency);
    const answer: CreditControlAnswer = {
      resultCode: ResultCode.DIAMETER_SUCCESS,
      services: lines
        .filter((line) => !line.commandLevel)
        .map((line) => ({ ...idsOf(line), resultCode: ResultCode.DIAMETER_SUCCESS })),
      ...(cost === undefined ? {} : { costInformation: cost }),
    };
    if (amountPico === 0n) return answer;
    const reference = `diameter-refund:${request.sessionId}/${request.requestNumber}`;
    const key = `${tenantId}\u0000${reference}`;
    let pending = refunds.get(key);
    if (pending === undefined) {
      pending = engine
        .adjustOnce(tenantId, quote.accountId, { balanceId: balance, amount: amountPico, reference, atMs })
        .then((outcome) =>
          outcome.code === 'ok'
            ? answer
            : {
                resultCode: ResultCode.DIAMETER_UNABLE_TO_COMPLY,
                errorMessage: `refund to balance ${balance}: ${outcome.code}`,
              },
        )
        .finally(() => refunds.delete(key));
      refunds.set(key, pending);
    }
    return pending;
  }

  async function checkBalance(
    request: CreditControlRequest,
    lines: readonly Line[],
    subscribers: readonly Subscriber[],
    atMs: number,
  ): Promise<CreditControlAnswer> {
    const quote = await quoteAs(subscribers, {
      ...eventInput(request, atMs),
      items: engineItems(lines, 'keep'),
    });
    if (quote === undefined) return unknownSubscriber(request);
    let enough = true;
    for (const [index, line] of lines.entries()) {
      if (line.item === undefined) return lineRefusal(line);
      // With no units named, the question is whether at least one unit could be paid.
      const units = unitsOf(line.item) ?? 1n;
      const affordable = affordableUnits(quote, line, quote.pricing[index] as Pricing, units, atMs);
      if (affordable === undefined) return ratingFailed(line);
      if (affordable < units) enough = false;
    }
    return {
      resultCode: ResultCode.DIAMETER_SUCCESS,
      checkBalanceResult: enough ? 'ENOUGH_CREDIT' : 'NO_CREDIT',
    };
  }

  async function priceEnquiry(
    request: CreditControlRequest,
    lines: readonly Line[],
    subscribers: readonly Subscriber[],
    atMs: number,
  ): Promise<CreditControlAnswer> {
    const quote = await quoteAs(subscribers, {
      ...eventInput(request, atMs),
      items: engineItems(lines, 'keep'),
    });
    if (quote === undefined) return unknownSubscriber(request);
    let totalPico = 0n;
    for (const [index, line] of lines.entries()) {
      if (line.item === undefined) return lineRefusal(line);
      const units = unitsOf(line.item);
      if (units === undefined) return missingUnits();
      const price = priceOf(quote.pricing[index] as Pricing, units);
      if (price === undefined) return ratingFailed(line);
      totalPico += price;
    }
    const cost = costOf(totalPico, quote.currency);
    if (cost === undefined) return unknownCurrency(quote.currency);
    return { resultCode: ResultCode.DIAMETER_SUCCESS, costInformation: cost };
  }

  return {
    async creditControl(request) {
      const atMs = request.eventTimestampMs ?? clock.nowMs();
      const lines = linesOf(request, serviceOf);
      const subscribers = await subscribersOf(request);
      if (subscribers.length === 0) {
        // A later request of a session nobody knows is an unknown session; anything else names
        // nobody this server charges.
        return request.requestType === 'UPDATE' || request.requestType === 'TERMINATE'
          ? {
              resultCode: ResultCode.DIAMETER_UNKNOWN_SESSION_ID,
              errorMessage: `no Subscription-Id this server can resolve, and no session ${request.sessionId}`,
            }
          : unknownSubscriber(request);
      }
      if (request.requestType !== 'EVENT') return session(request, lines, subscribers, atMs);
      switch (request.requestedAction ?? 'DIRECT_DEBITING') {
        case 'DIRECT_DEBITING':
          return directDebit(request, lines, subscribers, atMs);
        case 'REFUND_ACCOUNT':
          return refund(request, lines, subscribers, atMs);
        case 'CHECK_BALANCE':
          return checkBalance(request, lines, subscribers, atMs);
        case 'PRICE_ENQUIRY':
          return priceEnquiry(request, lines, subscribers, atMs);
      }
    },
  };
}

// ---- Request → items -----------------------------------------------------------------------------

function linesOf(
  request: CreditControlRequest,
  serviceOf: (request: CreditControlRequest, serviceIdentifiers: readonly number[]) => UsageService,
): Line[] {
  const calledNumber = calledNumberOf(request.serviceInformation);
  if (request.services.length === 0) {
    // A single-service client: the command-level units, and for an event the event itself even
    // without units (a direct debit of the default grant, a balance check of one unit).
    if (request.requested === undefined && request.used.length === 0 && request.requestType !== 'EVENT') {
      return [];
    }
    const ids = request.serviceIdentifier === undefined ? [] : [request.serviceIdentifier];
    return [
      lineOf(serviceOf(request, ids), {
        commandLevel: true,
        ratingGroup: undefined,
        engineRatingGroup: request.serviceIdentifier ?? 0,
        serviceIdentifiers: ids,
        requested: request.requested,
        used: request.used,
        calledNumber,
      }),
    ];
  }
  return request.services.map((mscc) =>
    lineOf(serviceOf(request, mscc.serviceIdentifiers), {
      commandLevel: false,
      ratingGroup: mscc.ratingGroup,
      engineRatingGroup: mscc.ratingGroup ?? mscc.serviceIdentifiers[0],
      serviceIdentifiers: mscc.serviceIdentifiers,
      requested: mscc.requested,
      used: mscc.used,
      calledNumber,
    }),
  );
}

function lineOf(
  service: UsageService,
  source: {
    readonly commandLevel: boolean;
    readonly ratingGroup: number | undefined;
    readonly engineRatingGroup: number | undefined;
    readonly serviceIdentifiers: readonly number[];
    readonly requested: ServiceUnits | undefined;
    readonly used: readonly UsedServiceUnits[];
    readonly calledNumber: string | undefined;
  },
): Line {
  const unit = UNIT_OF_SERVICE[service];
  const base = {
    commandLevel: source.commandLevel,
    ratingGroup: source.ratingGroup,
    serviceIdentifiers: source.serviceIdentifiers,
    service,
    unit,
    requested: source.requested,
  };
  if (source.engineRatingGroup === undefined) {
    return {
      ...base,
      item: undefined,
      resultCode: ResultCode.DIAMETER_MISSING_AVP,
      errorMessage: 'Multiple-Services-Credit-Control names neither a Rating-Group nor a Service-Identifier',
    };
  }
  // The usage reports of the rating group, summed (a tariff change splits them in two). A report
  // that carries no count in the service's unit is refused rather than taken as zero: it means the
  // service mapping and the client disagree, and charging nothing would hide it.
  let used: bigint | undefined;
  for (const report of source.used) {
    const units = unitsIn(report, unit);
    if (units === undefined) {
      return {
        ...base,
        item: undefined,
        resultCode: ResultCode.DIAMETER_MISSING_AVP,
        errorMessage: `Used-Service-Unit of rating group ${source.engineRatingGroup} has no ${UNIT_AVPS[unit]} for ${service}`,
      };
    }
    used = (used ?? 0n) + units;
  }
  // An empty Requested-Service-Unit (or one of 0 units) asks for the policy's default grant.
  const asked = source.requested === undefined ? undefined : unitsIn(source.requested, unit);
  const requested =
    source.requested === undefined ? undefined : asked === undefined || asked === 0n ? 'default' : asked;
  return {
    ...base,
    item: {
      ratingGroup: source.engineRatingGroup,
      service,
      unit,
      ...(used === undefined ? {} : { usedUnits: used }),
      ...(requested === undefined ? {} : { requestedUnits: requested }),
      ...(source.calledNumber === undefined || (service !== 'voice' && service !== 'sms' && service !== 'mms')
        ? {}
        : { calledNumber: source.calledNumber }),
    },
  };
}

/** The AVP that counts each unit, for messages. */
const UNIT_AVPS: Readonly<Record<BaseUnit, string>> = {
  second: 'CC-Time',
  byte: 'CC-Total-Octets or CC-Input-/Output-Octets',
  message: 'CC-Service-Specific-Units',
  event: 'CC-Service-Specific-Units',
  unit: 'CC-Service-Specific-Units',
};

/** The count of `unit` in a Requested- or Used-Service-Unit; undefined when it carries none. */
function unitsIn(units: ServiceUnits, unit: BaseUnit): bigint | undefined {
  switch (unit) {
    case 'second':
      return units.timeSec === undefined ? undefined : BigInt(units.timeSec);
    case 'byte':
      if (units.totalOctets !== undefined) return units.totalOctets;
      if (units.inputOctets === undefined && units.outputOctets === undefined) return undefined;
      return (units.inputOctets ?? 0n) + (units.outputOctets ?? 0n);
    default:
      return units.serviceSpecificUnits;
  }
}

/**
 * The engine items of the lines that reach it: `keep` as they are, `drop` without grant requests
 * (a TERMINATE asks for no quota), `debit` asking for the units to debit (requested, else used,
 * else the default grant).
 */
function engineItems(lines: readonly Line[], mode: 'keep' | 'drop' | 'debit'): OnlineItem[] {
  const items: OnlineItem[] = [];
  for (const line of lines) {
    if (line.item === undefined) continue;
    const { requestedUnits, usedUnits, ...rest } = line.item;
    if (mode === 'keep') items.push(line.item);
    else if (mode === 'drop') items.push(usedUnits === undefined ? rest : { ...rest, usedUnits });
    else items.push({ ...rest, requestedUnits: requestedUnits ?? usedUnits ?? 'default' });
  }
  return items;
}

/** The units an event names: requested, else used. */
function unitsOf(item: OnlineItem): bigint | undefined {
  return typeof item.requestedUnits === 'bigint' ? item.requestedUnits : item.usedUnits;
}

function eventInput(
  request: CreditControlRequest,
  atMs: number,
): Omit<OnlineChargingInput, 'tenantId' | 'protocol' | 'items'> {
  return { sessionId: `${request.sessionId}#event/${request.requestNumber}`, requestNumber: 0, atMs };
}

/**
 * The called party of a voice call (IMS-Information Called-Party-Address) or an SMS
 * (SMS-Information Recipient-Info / Recipient-Address / Address-Data), as E.164 digits.
 */
function calledNumberOf(serviceInformation: DiameterAvp | undefined): string | undefined {
  if (serviceInformation === undefined) return undefined;
  const ims = findAvp(serviceInformation, 'IMS-Information');
  let raw = ims === undefined ? undefined : stringOf(findAvp(ims, 'Called-Party-Address'));
  const sms = findAvp(serviceInformation, 'SMS-Information');
  if (raw === undefined && sms !== undefined) {
    const recipient = findAvp(sms, 'Recipient-Info');
    const address = recipient === undefined ? undefined : findAvp(recipient, 'Recipient-Address');
    raw = address === undefined ? undefined : stringOf(findAvp(address, 'Address-Data'));
  }
  if (raw === undefined) return undefined;
  const digits = raw
    .replace(/^(tel:|sips?:)/i, '')
    .replace(/[@;].*$/, '')
    .replace(/^\+/, '');
  return /^\d{4,15}$/.test(digits) ? digits : undefined;
}

function stringOf(entry: DiameterAvp | undefined): string | undefined {
  return entry !== undefined && typeof entry.value === 'string' ? entry.value : undefined;
}

// ---- Outcome → answer ----------------------------------------------------------------------------

/** What one line's answer carries besides its identifiers. */
interface LineResult {
  readonly resultCode: number;
  readonly grantedUnits?: bigint;
  readonly validityTimeSec?: number;
  readonly finalUnits?: boolean;
}

/**
 * The CCA of lines whose engine outcomes are `outcomes` (one per line that reached the engine, in
 * order). Result-Code 2001 when the request was handled; 4012 at command level too when every
 * rating group was refused for credit, as RFC 4006 section 5.1.2 asks of a server that grants
 * nothing at all.
 */
function answerOf(
  lines: readonly Line[],
  outcomes: readonly RatingGroupOutcome[],
  resultOf: (outcome: RatingGroupOutcome) => LineResult,
): CreditControlAnswer {
  let next = 0;
  const results: LineResult[] = lines.map((line) => {
    if (line.item === undefined)
      return { resultCode: line.resultCode ?? ResultCode.DIAMETER_UNABLE_TO_COMPLY };
    const outcome = outcomes[next++];
    return outcome === undefined ? { resultCode: ResultCode.DIAMETER_SUCCESS } : resultOf(outcome);
  });
  const allCreditLimited =
    results.length > 0 && results.every((r) => r.resultCode === ResultCode.DIAMETER_CREDIT_LIMIT_REACHED);
  const services: ServiceCreditAnswer[] = [];
  let answer: Mutable<CreditControlAnswer> = {
    resultCode: allCreditLimited ? ResultCode.DIAMETER_CREDIT_LIMIT_REACHED : ResultCode.DIAMETER_SUCCESS,
  };
  for (const [index, line] of lines.entries()) {
    const result = results[index] as LineResult;
    const granted =
      result.grantedUnits === undefined ? undefined : grantedUnitsOf(line.unit, result.grantedUnits);
    if (line.commandLevel) {
      // A single-service client reads the command level: its Result-Code is the line's.
      answer = { ...answer, resultCode: result.resultCode };
      if (granted !== undefined) answer.granted = granted;
      if (result.validityTimeSec !== undefined) answer.validityTimeSec = result.validityTimeSec;
      if (result.finalUnits === true) answer.finalUnitIndication = { action: 'TERMINATE' };
      if (line.errorMessage !== undefined) answer.errorMessage = line.errorMessage;
      continue;
    }
    services.push({
      ...idsOf(line),
      resultCode: result.resultCode,
      ...(granted === undefined ? {} : { granted }),
      ...(result.validityTimeSec === undefined ? {} : { validityTimeSec: result.validityTimeSec }),
      ...(result.finalUnits === true ? { finalUnitIndication: { action: 'TERMINATE' as const } } : {}),
    });
  }
  if (services.length > 0) answer.services = services;
  return answer;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * One rating group of a session request: a grant is 2001 with Granted-Service-Unit in the
 * service's unit, Validity-Time until the reservation expires and, when the balances could not
 * fund the full request, Final-Unit-Indication TERMINATE; a refused grant is 4012 or 5031. A
 * report alone is 2001, also when its reservation was not found or had expired (the engine charged
 * nothing and the client has nothing left to do for it).
 */
function grantAnswer(item: RatingGroupOutcome, atMs: number): LineResult {
  const resultCode = grantResultCode(item);
  if (item.grantedUnits <= 0n) return { resultCode };
  return {
    resultCode,
    grantedUnits: item.grantedUnits,
    // The reservation expires at expiresAtMs; the client must report before then.
    validityTimeSec: Math.max(1, Math.floor((item.expiresAtMs - atMs) / 1000)),
    finalUnits: item.finalUnits,
  };
}

function grantResultCode(item: RatingGroupOutcome): number {
  switch (item.grantCode) {
    case 'granted':
    case 'partially_granted':
      return ResultCode.DIAMETER_SUCCESS;
    case 'quota_limit_reached':
    case 'spending_cap_reached':
    case 'no_balance':
      return ResultCode.DIAMETER_CREDIT_LIMIT_REACHED;
    case 'rating_failed':
      return ResultCode.DIAMETER_RATING_FAILED;
    case undefined:
      return item.commitCode === 'rating_failed'
        ? ResultCode.DIAMETER_RATING_FAILED
        : ResultCode.DIAMETER_SUCCESS;
  }
}

function grantedUnitsOf(unit: BaseUnit, units: bigint): GrantedServiceUnits {
  switch (unit) {
    case 'second':
      return { timeSec: Number(units) };
    case 'byte':
      return { totalOctets: units };
    default:
      return { serviceSpecificUnits: units };
  }
}

function idsOf(line: Line): { ratingGroup?: number; serviceIdentifiers?: readonly number[] } {
  return {
    ...(line.ratingGroup === undefined ? {} : { ratingGroup: line.ratingGroup }),
    ...(line.serviceIdentifiers.length === 0 ? {} : { serviceIdentifiers: line.serviceIdentifiers }),
  };
}

/**
 * A request the engine refused as a whole. RFC 4006 names no Result-Code for a CC-Request-Number
 * out of sequence: a number reused for other content (request_mismatch) or older than the last
 * one (stale_request) is answered 5012 DIAMETER_UNABLE_TO_COMPLY with an Error-Message. 3xxx are
 * the base protocol's routing and header errors, which a client would take for a transport
 * problem and send elsewhere.
 */
function requestRefusal(outcome: ChargingOutcome, staleIsReplay = false): CreditControlAnswer | undefined {
  const errorMessage = `${outcome.code}: ${outcome.message}`;
  if (staleIsReplay && outcome.code === 'stale_request') return undefined;
  switch (outcome.code) {
    case 'ok':
      return undefined;
    case 'user_unknown':
      return { resultCode: ResultCode.DIAMETER_USER_UNKNOWN, errorMessage };
    case 'session_terminated':
      return { resultCode: ResultCode.DIAMETER_UNKNOWN_SESSION_ID, errorMessage };
    case 'invalid_request':
      return { resultCode: ResultCode.DIAMETER_INVALID_AVP_VALUE, errorMessage };
    case 'request_mismatch':
    case 'stale_request':
      return { resultCode: ResultCode.DIAMETER_UNABLE_TO_COMPLY, errorMessage };
  }
}

function unknownSubscriber(request: CreditControlRequest): CreditControlAnswer {
  const named = request.subscriptionIds.map((id) => `${id.type} ${id.data}`).join(', ');
  return {
    resultCode: ResultCode.DIAMETER_USER_UNKNOWN,
    errorMessage:
      named === '' ? 'the request names no Subscription-Id' : `no subscriber held ${named} at the event time`,
  };
}

function lineRefusal(line: Line): CreditControlAnswer {
  return {
    resultCode: line.resultCode ?? ResultCode.DIAMETER_UNABLE_TO_COMPLY,
    ...(line.errorMessage === undefined ? {} : { errorMessage: line.errorMessage }),
  };
}

function missingUnits(): CreditControlAnswer {
  return {
    resultCode: ResultCode.DIAMETER_MISSING_AVP,
    errorMessage: 'the event names no units (Requested-Service-Unit or Used-Service-Unit)',
    failedAvp: avp('Requested-Service-Unit', []),
  };
}

function ratingFailed(line: Line): CreditControlAnswer {
  return {
    resultCode: ResultCode.DIAMETER_RATING_FAILED,
    errorMessage: `the ${line.service} usage of rating group ${line.item?.ratingGroup ?? '?'} cannot be priced`,
  };
}

function unknownCurrency(currency: string): CreditControlAnswer {
  return {
    resultCode: ResultCode.DIAMETER_UNABLE_TO_COMPLY,
    errorMessage: `currency ${currency} has no ISO 4217 numeric code in ISO_4217_NUMERIC`,
  };
}

// ---- Money and balances --------------------------------------------------------------------------

/**
 * An amount of pico-units as Cost-Information: Value-Digits × 10^Exponent, exact, with the
 * trailing zeros moved into the exponent (EUR 0.09 = 90 000 000 000 pico → 9 × 10^-2).
 * Undefined when the currency has no numeric code in ISO_4217_NUMERIC.
 */
export function costOf(amountPico: bigint, currency: string): CostInformation | undefined {
  const currencyCode = ISO_4217_NUMERIC[currency];
  if (currencyCode === undefined) return undefined;
  let valueDigits = amountPico;
  let exponent = PICO_EXPONENT;
  if (valueDigits === 0n) exponent = 0;
  while (exponent < 0 && valueDigits % 10n === 0n) {
    valueDigits /= 10n;
    exponent += 1;
  }
  return { unitValue: { valueDigits, exponent }, currencyCode };
}

/** CC-Money as pico-units of `currency`, or why it cannot be (another currency, finer than pico). */
export function picoOfCcMoney(money: CcMoney, currency: string): bigint | string {
  const expected = ISO_4217_NUMERIC[currency];
  if (money.currencyCode !== undefined && money.currencyCode !== expected) {
    return `CC-Money is in currency ${money.currencyCode}, the account in ${currency} (${expected ?? 'no numeric code'})`;
  }
  const shift = money.exponent - PICO_EXPONENT;
  if (shift >= 0) return money.valueDigits * 10n ** BigInt(shift);
  const divisor = 10n ** BigInt(-shift);
  if (money.valueDigits % divisor !== 0n) return 'CC-Money is finer than 10^-12 of the currency';
  return money.valueDigits / divisor;
}

/**
 * The units, at most `units`, the balances could pay for now: unit buckets of the line's unit
 * first, then the money balances at the engine's price; each balance that matches the line and is
 * valid at `atMs` counts what is available on it (holds of other sessions excluded). Undefined
 * when the price cannot be computed. Items are checked one by one, not against each other.
 */
function affordableUnits(
  quote: { readonly subscriptionId: string; readonly accountId: string; readonly state: ChargingState },
  line: Line,
  pricing: Pricing,
  units: bigint,
  atMs: number,
): bigint | undefined {
  const scope = {
    subscriptionId: quote.subscriptionId,
    accountId: quote.accountId,
    service: line.service,
    ratingGroup: line.item?.ratingGroup ?? 0,
    zone: undefined,
  };
  let left = units;
  let money = 0n;
  for (const balance of quote.state.order) {
    if (!isValidAt(balance, atMs) || !matchesScope(balance, scope)) continue;
    if (balance.unit === line.unit) {
      const available = availableOf(balance);
      left -= available < left ? available : left;
    } else if (balance.unit === 'money') {
      money += availableOf(balance);
    }
  }
  if (left === 0n) return units;
  const paid = maxAffordableUnits(pricing, left, money);
  return paid === undefined ? undefined : units - left + paid;
}

/**
 * The money balance a refund credits: the first in consumption order that the first line could
 * draw from at `atMs`, else the account's first money balance.
 */
function refundBalanceOf(
  quote: { readonly subscriptionId: string; readonly accountId: string; readonly state: ChargingState },
  lines: readonly Line[],
  atMs: number,
): string | undefined {
  const who = { subscriptionId: quote.subscriptionId, accountId: quote.accountId };
  const first = lines[0];
  const money = quote.state.order.filter(
    (balance) =>
      balance.unit === 'money' &&
      (balance.ownerKind === 'account'
        ? balance.ownerId === who.accountId
        : balance.ownerId === who.subscriptionId),
  );
  const matching =
    first === undefined
      ? undefined
      : money.find(
          (balance) =>
            isValidAt(balance, atMs) &&
            matchesScope(balance, {
              ...who,
              service: first.service,
              ratingGroup: first.item?.ratingGroup ?? 0,
              zone: undefined,
            }),
        );
  return (matching ?? money[0])?.id;
}
