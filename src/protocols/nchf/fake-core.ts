/**
 * A stand-in for the charging core, for the face's tests and the load generator: an in-memory
 * balance per subscriber, in units of whatever the request counts (bytes, seconds or messages),
 * granted in fixed slices and debited by the units reported as used. It follows the protocol's
 * outcomes (grants, final unit indication, QUOTA_LIMIT_REACHED, USER_UNKNOWN, unknown refs), not
 * any tariff: the real core rates, reserves and books; this one only counts.
 *
 * Arithmetic of one session with a balance of 12 000 000 and slices of 5 000 000: create grants
 * 5 000 000 (7 000 000 left unreserved); an update using 5 000 000 grants 5 000 000 more
 * (2 000 000 left); the next update using 5 000 000 grants the last 2 000 000 with finalUnitAction
 * TERMINATE; after that, QUOTA_LIMIT_REACHED.
 */
import { instantFromMs } from '../../kernel/clock.js';
import type {
  ChargingDataRequest,
  ChargingDataResponse,
  MultipleUnitInformation,
  RequestedUnit,
} from './model.js';
import { chargingDataNotFound, chargingFailure, type ChargingFailure } from './problem.js';
import type { ChargingDataCreated, ChargingRequestContext, ConvergedChargingHandler } from './server.js';

export interface FakeCoreCall<Caller> {
  readonly operation: 'create' | 'update' | 'release';
  readonly ref: string | undefined;
  readonly request: ChargingDataRequest;
  readonly context: ChargingRequestContext<Caller>;
}

interface FakeSession {
  readonly subscriber: string;
  /** Units granted and not yet reported, per rating group. */
  readonly reserved: Map<number, number>;
}

type UnitKind = 'time' | 'totalVolume' | 'serviceSpecificUnits';

function unitKind(requested: RequestedUnit | undefined): UnitKind {
  if (requested?.time !== undefined) return 'time';
  if (requested?.serviceSpecificUnits !== undefined) return 'serviceSpecificUnits';
  return 'totalVolume';
}

export class FakeChargingCore<Caller = unknown> implements ConvergedChargingHandler<Caller> {
  /** Every call, in arrival order, for assertions. */
  readonly calls: FakeCoreCall<Caller>[] = [];
  private readonly balances = new Map<string, number>();
  private readonly sessions = new Map<string, FakeSession>();
  private nextRef = 1;
  private failure: Error | undefined;

  constructor(
    /** Units granted per rating group and request, at most. */
    private readonly sliceUnits = 5_000_000,
    /** Whether to record calls (the load generator turns it off to keep memory flat). */
    private readonly record = true,
  ) {}

  /** Sets a subscriber's balance (adds the subscriber when new). */
  setBalance(subscriber: string, units: number): void {
    this.balances.set(subscriber, units);
  }

  balance(subscriber: string): number | undefined {
    return this.balances.get(subscriber);
  }

  /** Open charging sessions. */
  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The next call throws `error` (the server must answer 500 and leak nothing of it). */
  failNext(error: Error): void {
    this.failure = error;
  }

  create(
    request: ChargingDataRequest,
    context: ChargingRequestContext<Caller>,
  ): ChargingDataCreated | ChargingFailure {
    this.note('create', undefined, request, context);
    const subscriber = request.subscriberIdentifier;
    if (subscriber === undefined)
      return chargingFailure('CHARGING_FAILED', 'subscriberIdentifier is required');
    if (!this.balances.has(subscriber)) return chargingFailure('USER_UNKNOWN', `${subscriber} is not known`);
    const session: FakeSession = { subscriber, reserved: new Map() };
    const grants = this.grant(session, request);
    if (grants === undefined) return chargingFailure('QUOTA_LIMIT_REACHED', 'the balance is used up');
    const ref = `fake-${this.nextRef++}`;
    if (request.oneTimeEvent !== true) this.sessions.set(ref, session);
    return { ref, response: this.response(request, context, grants) };
  }

  update(
    ref: string,
    request: ChargingDataRequest,
    context: ChargingRequestContext<Caller>,
  ): ChargingDataResponse | ChargingFailure {
    this.note('update', ref, request, context);
    const session = this.sessions.get(ref);
    if (session === undefined) return chargingDataNotFound(ref);
    this.debit(session, request);
    const grants = this.grant(session, request);
    if (grants === undefined) return chargingFailure('QUOTA_LIMIT_REACHED', 'the balance is used up');
    return this.response(request, context, grants);
  }

  release(
    ref: string,
    request: ChargingDataRequest,
    context: ChargingRequestContext<Caller>,
  ): void | ChargingFailure {
    this.note('release', ref, request, context);
    const session = this.sessions.get(ref);
    if (session === undefined) return chargingDataNotFound(ref);
    this.debit(session, request);
    // Units reserved and never reported go back to the balance.
    let unused = 0;
    for (const units of session.reserved.values()) unused += units;
    this.balances.set(session.subscriber, (this.balances.get(session.subscriber) ?? 0) + unused);
    this.sessions.delete(ref);
  }

  private note(
    operation: FakeCoreCall<Caller>['operation'],
    ref: string | undefined,
    request: ChargingDataRequest,
    context: ChargingRequestContext<Caller>,
  ): void {
    if (this.failure !== undefined) {
      const failure = this.failure;
      this.failure = undefined;
      throw failure;
    }
    if (this.record) this.calls.push({ operation, ref, request, context });
  }

  /** Reported usage settles the reservation: what was used is gone, the rest of the grant returns. */
  private debit(session: FakeSession, request: ChargingDataRequest): void {
    for (const usage of request.multipleUnitUsage ?? []) {
      let used = 0;
      for (const container of usage.usedUnitContainer ?? []) {
        used += container.totalVolume ?? container.time ?? container.serviceSpecificUnits ?? 0;
      }
      if ((usage.usedUnitContainer ?? []).length === 0) continue;
      const reserved = session.reserved.get(usage.ratingGroup) ?? 0;
      const balance = this.balances.get(session.subscriber) ?? 0;
      // used beyond the reservation (an overrun) is taken from the balance, never below zero.
      this.balances.set(session.subscriber, Math.max(0, balance + reserved - used));
      session.reserved.delete(usage.ratingGroup);
    }
  }

  /** Grants a slice per rating group that asks; undefined when nothing at all can be granted. */
  private grant(session: FakeSession, request: ChargingDataRequest): MultipleUnitInformation[] | undefined {
    const out: MultipleUnitInformation[] = [];
    for (const usage of request.multipleUnitUsage ?? []) {
      if (usage.requestedUnit === undefined) continue;
      const balance = this.balances.get(session.subscriber) ?? 0;
      if (balance === 0) return undefined;
      const wanted = Object.values(usage.requestedUnit)[0] ?? this.sliceUnits;
      const granted = Math.min(balance, wanted === 0 ? this.sliceUnits : Math.min(wanted, this.sliceUnits));
      this.balances.set(session.subscriber, balance - granted);
      session.reserved.set(usage.ratingGroup, (session.reserved.get(usage.ratingGroup) ?? 0) + granted);
      const last = granted === balance;
      out.push({
        resultCode: 'SUCCESS',
        ratingGroup: usage.ratingGroup,
        grantedUnit: { [unitKind(usage.requestedUnit)]: granted },
        validityTime: 3600,
        ...(last ? { finalUnitIndication: { finalUnitAction: 'TERMINATE' as const } } : {}),
      });
    }
    return out;
  }

  private response(
    request: ChargingDataRequest,
    context: ChargingRequestContext<Caller>,
    grants: MultipleUnitInformation[],
  ): ChargingDataResponse {
    return {
      invocationTimeStamp: instantFromMs(context.receivedMs),
      invocationSequenceNumber: request.invocationSequenceNumber,
      ...(grants.length > 0 ? { multipleUnitInformation: grants } : {}),
    };
  }
}
