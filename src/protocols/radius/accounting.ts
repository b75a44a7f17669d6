/**
 * RADIUS accounting to usage (pure): one Accounting-Request (RFC 2866, with the RFC 2869
 * Interim-Update and Gigawords attributes) becomes the data usage since the previous report of
 * the same session.
 *
 * A NAS reports cumulative counters: every Interim-Update and the Stop carry the session's totals
 * so far (Acct-Session-Time, Acct-Input/Output-Octets, with the Gigawords attributes counting how
 * many times each 32-bit octet counter wrapped). Billing wants each slice once, so the caller
 * keeps the counters of the last report it stored per session (`SessionCounters`, keyed by
 * `sessionKey`) and passes them back; the usage is the difference.
 *
 *   cumulative octets = Octets + 2^32 × Gigawords
 *   e.g. Acct-Output-Gigawords 3, Acct-Output-Octets 1_000_000:
 *        3 × 4_294_967_296 + 1_000_000 = 12_884_901_888 + 1_000_000 = 12_885_901_888 bytes
 *
 * Ordering and counter resets. UDP reorders and NASes retransmit, so a report can arrive after a
 * later one of the same session; and a NAS whose line card restarts can reset its counters while
 * the session lives on. The two look alike (a counter smaller than before) and are told apart so:
 * - When both reports carry Event-Timestamp, the timestamps order them. An older report is
 *   `stale`: no usage, the stored counters stay. A newer report whose counter went down is a
 *   reset: that counter restarted at zero, so its delta is its whole current value.
 * - Without timestamps, Acct-Session-Time orders them: a smaller session time is `stale` (we
 *   cannot tell a late report from a full reset, and billing a slice twice is worse than missing
 *   one). With the session time not smaller, an octet counter that went down is a reset as above.
 * - Usage between the last report before a reset and the reset itself was never reported and is
 *   lost; the usage record says which counters reset (extra `radius.counterReset`) so assurance
 *   can see it.
 * - A Start for a session that already has counters is `stale` too (a late retransmitted Start
 *   must not rewind the baseline and bill the session twice).
 *
 * Time. The report's event time is Event-Timestamp when present, else the receive time minus
 * Acct-Delay-Time (RFC 2866 section 5.2: how long the NAS has been trying to send it). The usage
 * slice ends at the event time and lasts the session-time delta, so
 *   startMs = eventMs − deltaSessionTimeSec × 1000,
 * which for the first report of a session is Event-Timestamp − Acct-Session-Time: the session
 * start. Each slice is priced at its own time (peak / off-peak), and a days-long session's late
 * slices are not mistaken for stale records.
 *
 * Record ids. `sourceRecordId` is
 *   `${Acct-Session-Id}:${NAS-Identifier | NAS-IP-Address | NAS-IPv6-Address | source IP}:${status}:${cumulative session time}:${cumulative octets in + out}`
 * so the same report, however often the NAS sends it (new identifier, new Acct-Delay-Time),
 * has the same id and mediation's deduplication drops the copies.
 */
import { IDENTITY_LABELS, tryNormaliseIdentity, type IdentityType } from '../../customers/index.js';
import type { RejectReason, UsageInput } from '../../usage/index.js';
import {
  RadiusAttributeType as A,
  readInteger,
  readIpv4Address,
  readIpv6Address,
  readText,
  readVendorText,
  type AttributeRead,
  type RadiusPacket,
} from './codec.js';

/** Acct-Status-Type values (RFC 2866 section 5.1, RFC 2869 section 2.1 for Interim-Update). */
export const AcctStatusType = {
  Start: 1,
  Stop: 2,
  InterimUpdate: 3,
  AccountingOn: 7,
  AccountingOff: 8,
} as const;

export type AccountingStatus = 'start' | 'interim-update' | 'stop' | 'accounting-on' | 'accounting-off';

const STATUS_NAMES: Readonly<Record<number, AccountingStatus>> = {
  [AcctStatusType.Start]: 'start',
  [AcctStatusType.Stop]: 'stop',
  [AcctStatusType.InterimUpdate]: 'interim-update',
  [AcctStatusType.AccountingOn]: 'accounting-on',
  [AcctStatusType.AccountingOff]: 'accounting-off',
};

/** Vendor ids and types of the vendor attributes that can name the subscriber. */
export const VENDOR_ADSL_FORUM = 3561; // Broadband Forum, RFC 4679
export const VENDOR_3GPP = 10415; // 3GPP TS 29.061
const ADSL_AGENT_CIRCUIT_ID = 1;
const THREE_GPP_IMSI = 1;

/** An Accounting-Request as the server hands it over: the packet, where and when it came from. */
export interface AccountingRequest {
  readonly packet: RadiusPacket;
  /** The datagram's source IP (the NAS, as the clients table matched it). */
  readonly sourceAddress: string;
  /** When the server received it, ms since the epoch (from the server's Clock). */
  readonly receivedMs: number;
}

/** Which attribute names the subscriber, and as what identity type. */
export const IDENTITY_ATTRIBUTES = {
  'User-Name': 'nai',
  'Calling-Station-Id': 'msisdn',
  'NAS-Port-Id': 'line-id',
  'Agent-Circuit-Id': 'line-id',
  '3GPP-IMSI': 'imsi',
} as const satisfies Record<string, IdentityType>;
export type IdentityAttribute = keyof typeof IDENTITY_ATTRIBUTES;

export interface RadiusUsageSettings {
  /**
   * The attribute that names the subscriber: User-Name (an NAI, the default), Calling-Station-Id
   * (an MSISDN in international form, as mobile gateways send it), NAS-Port-Id or the Broadband
   * Forum Agent-Circuit-Id (a line id, for fixed access), or 3GPP-IMSI.
   */
  readonly identityAttribute?: IdentityAttribute;
  /** Take the APN from Called-Station-Id (3GPP TS 29.061 gateways put it there). Default false. */
  readonly apnFromCalledStationId?: boolean;
}

/** The cumulative counters of the last report stored for a session. */
export interface SessionCounters {
  /** Acct-Session-Time, seconds since the session started. */
  readonly sessionTimeSec: number;
  /** Octets from the subscriber: Acct-Input-Octets + 2^32 × Acct-Input-Gigawords. */
  readonly inputOctets: bigint;
  /** Octets to the subscriber: Acct-Output-Octets + 2^32 × Acct-Output-Gigawords. */
  readonly outputOctets: bigint;
  /** Event-Timestamp of the report, seconds since the epoch, when it had one. */
  readonly eventTimestampSec?: number;
  /** True once a Stop was seen: the session is over. */
  readonly stopped: boolean;
}

export type CounterName = 'session-time' | 'input-octets' | 'output-octets';

/** What one Accounting-Request means for billing. */
export type AccountingOutcome =
  | {
      /** An Interim-Update or Stop: the usage since the previous report. */
      readonly kind: 'usage';
      readonly status: 'interim-update' | 'stop';
      readonly sessionKey: string;
      readonly usage: UsageInput;
      /** The counters to store for the session in place of `previous`. */
      readonly counters: SessionCounters;
      /** Counters that went down with the report newer: reset on the NAS (see the module comment). */
      readonly resets: readonly CounterName[];
    }
  | {
      /** A Start: no usage yet (zero delta); the counters are the session's baseline. */
      readonly kind: 'session-start';
      readonly sessionKey: string;
      readonly counters: SessionCounters;
    }
  | {
      /** A report older than the one already stored (reordered or a late retransmission): no usage. */
      readonly kind: 'stale';
      readonly status: 'start' | 'interim-update' | 'stop';
      readonly sessionKey: string;
      readonly message: string;
    }
  | {
      /**
       * Accounting-On / Accounting-Off: the NAS (re)started or is going down, so every session it
       * had open is over; their usage after their last report is lost.
       */
      readonly kind: 'nas-restart';
      readonly status: 'accounting-on' | 'accounting-off';
      readonly nas: string;
    }
  | {
      /** The report cannot become usage; store it as a reject with the raw packet. */
      readonly kind: 'reject';
      readonly reason: RejectReason;
      readonly field?: string;
      readonly message: string;
    };

const TWO_TO_32 = 2n ** 32n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** The NAS as record ids name it: NAS-Identifier, else NAS-IP-Address, NAS-IPv6-Address, source IP. */
export function nasName(request: AccountingRequest): string {
  for (const read of [
    readText(request.packet, A.NasIdentifier),
    readIpv4Address(request.packet, A.NasIpAddress),
    readIpv6Address(request.packet, A.NasIpv6Address),
  ]) {
    if (read.status === 'ok') return read.value;
  }
  return request.sourceAddress;
}

/** The key of the request's session: `${nas}:${Acct-Session-Id}`; undefined without a session id. */
export function accountingSessionKey(request: AccountingRequest): string | undefined {
  const sessionId = readText(request.packet, A.AcctSessionId);
  return sessionId.status === 'ok' ? `${nasName(request)}:${sessionId.value}` : undefined;
}

/** The request's Acct-Status-Type, its number when unknown, or undefined when absent or malformed. */
export function accountingStatus(packet: RadiusPacket): AccountingStatus | number | undefined {
  const read = readInteger(packet, A.AcctStatusType);
  if (read.status !== 'ok') return undefined;
  return STATUS_NAMES[read.value] ?? read.value;
}

/**
 * Converts one Accounting-Request into usage since `previous` (the counters stored for the same
 * session by the last call, undefined for the first report). Never throws.
 */
export function accountingToUsage(
  request: AccountingRequest,
  settings: RadiusUsageSettings,
  previous?: SessionCounters,
): AccountingOutcome {
  const { packet } = request;
  const statusRead = readInteger(packet, A.AcctStatusType);
  if (statusRead.status !== 'ok') {
    return reject(
      statusRead.status === 'absent' ? 'missing_field' : 'malformed_record',
      'Acct-Status-Type',
      statusRead.status === 'absent' ? 'Acct-Status-Type is absent' : statusRead.detail,
    );
  }
  const status = STATUS_NAMES[statusRead.value];
  if (status === undefined) {
    return reject(
      'unsupported_record',
      'Acct-Status-Type',
      `Acct-Status-Type ${statusRead.value} is not Start, Interim-Update, Stop, Accounting-On or Accounting-Off`,
    );
  }
  const nas = nasName(request);
  if (status === 'accounting-on' || status === 'accounting-off') return { kind: 'nas-restart', status, nas };

  const sessionIdRead = readText(packet, A.AcctSessionId);
  if (sessionIdRead.status !== 'ok') return fieldReject('Acct-Session-Id', sessionIdRead);
  const sessionKey = `${nas}:${sessionIdRead.value}`;

  const counters = readCounters(packet);
  if (!counters.ok) return counters.reject;
  const current = counters.value;

  if (status === 'start') {
    if (previous !== undefined) {
      return {
        kind: 'stale',
        status,
        sessionKey,
        message: `a Start for ${sessionKey}, which already has reports`,
      };
    }
    return { kind: 'session-start', sessionKey, counters: storedCounters(current, false) };
  }

  if (previous !== undefined && isOlder(current, previous)) {
    return {
      kind: 'stale',
      status,
      sessionKey,
      message:
        current.eventTimestampSec !== undefined && previous.eventTimestampSec !== undefined
          ? `the report's Event-Timestamp ${current.eventTimestampSec} is before the stored ${previous.eventTimestampSec}`
          : `the report's Acct-Session-Time ${current.sessionTimeSec} is below the stored ${previous.sessionTimeSec}`,
    };
  }

  const identity = readIdentity(request, settings.identityAttribute ?? 'User-Name');
  if (!identity.ok) return identity.reject;

  const resets: CounterName[] = [];
  const delta = (name: CounterName, now: bigint, before: bigint | undefined): bigint => {
    if (before === undefined) return now;
    if (now >= before) return now - before;
    resets.push(name);
    return now;
  };
  const deltaTime = delta(
    'session-time',
    BigInt(current.sessionTimeSec),
    optionalBigInt(previous?.sessionTimeSec),
  );
  const deltaUp = delta('input-octets', current.inputOctets, previous?.inputOctets);
  const deltaDown = delta('output-octets', current.outputOctets, previous?.outputOctets);
  if (deltaUp > MAX_SAFE || deltaDown > MAX_SAFE) {
    return reject(
      'out_of_bounds',
      deltaUp > MAX_SAFE ? 'Acct-Input-Octets' : 'Acct-Output-Octets',
      `a delta of ${deltaUp > MAX_SAFE ? deltaUp : deltaDown} octets does not fit a safe integer`,
    );
  }

  const eventMs =
    current.eventTimestampSec !== undefined
      ? current.eventTimestampSec * 1000
      : request.receivedMs - current.delaySec * 1000;
  const durationSec = Number(deltaTime);

  const extra: Record<string, string> = {
    'radius.sessionId': sessionIdRead.value,
    'radius.nas': nas,
    'radius.status': status,
  };
  if (resets.length > 0) extra['radius.counterReset'] = resets.join(',');
  if (status === 'stop') {
    const cause = readInteger(packet, A.AcctTerminateCause);
    if (cause.status === 'ok') extra['radius.terminateCause'] = String(cause.value);
  }

  let apn: string | undefined;
  if (settings.apnFromCalledStationId === true) {
    const called = readText(packet, A.CalledStationId);
    if (called.status === 'ok') apn = called.value.trim().toLowerCase();
  }

  const usage: UsageInput = {
    service: 'data',
    identityType: identity.type,
    identity: identity.value,
    startMs: eventMs - durationSec * 1000,
    durationSec,
    volumeUpBytes: Number(deltaUp),
    volumeDownBytes: Number(deltaDown),
    count: 0,
    roaming: false,
    ...(apn !== undefined && apn !== '' ? { apn } : {}),
    sourceRecordId: `${sessionIdRead.value}:${nas}:${status}:${current.sessionTimeSec}:${current.inputOctets + current.outputOctets}`,
    extra,
  };
  const stored = storedCounters(current, status === 'stop' || previous?.stopped === true);
  return { kind: 'usage', status, sessionKey, usage, counters: stored, resets };
}

function storedCounters(current: ReportCounters, stopped: boolean): SessionCounters {
  return {
    sessionTimeSec: current.sessionTimeSec,
    inputOctets: current.inputOctets,
    outputOctets: current.outputOctets,
    ...(current.eventTimestampSec !== undefined ? { eventTimestampSec: current.eventTimestampSec } : {}),
    stopped,
  };
}

interface ReportCounters {
  readonly sessionTimeSec: number;
  readonly inputOctets: bigint;
  readonly outputOctets: bigint;
  readonly eventTimestampSec?: number;
  readonly delaySec: number;
}

function isOlder(current: ReportCounters, previous: SessionCounters): boolean {
  if (current.eventTimestampSec !== undefined && previous.eventTimestampSec !== undefined) {
    return current.eventTimestampSec < previous.eventTimestampSec;
  }
  return current.sessionTimeSec < previous.sessionTimeSec;
}

function optionalBigInt(value: number | undefined): bigint | undefined {
  return value === undefined ? undefined : BigInt(value);
}

/** Reads the counters; an absent counter reads as 0 (the NAS reported none), a malformed one rejects. */
function readCounters(
  packet: RadiusPacket,
): { ok: true; value: ReportCounters } | { ok: false; reject: AccountingOutcome } {
  const fields = [
    ['Acct-Session-Time', A.AcctSessionTime],
    ['Acct-Input-Octets', A.AcctInputOctets],
    ['Acct-Input-Gigawords', A.AcctInputGigawords],
    ['Acct-Output-Octets', A.AcctOutputOctets],
    ['Acct-Output-Gigawords', A.AcctOutputGigawords],
    ['Acct-Delay-Time', A.AcctDelayTime],
  ] as const;
  const values: number[] = [];
  for (const [name, type] of fields) {
    const read = readInteger(packet, type);
    if (read.status === 'malformed')
      return { ok: false, reject: reject('malformed_record', name, read.detail) };
    values.push(read.status === 'ok' ? read.value : 0);
  }
  const [sessionTime, inOctets, inGigawords, outOctets, outGigawords, delay] = values as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const timestamp = readInteger(packet, A.EventTimestamp);
  if (timestamp.status === 'malformed') {
    return { ok: false, reject: reject('malformed_record', 'Event-Timestamp', timestamp.detail) };
  }
  return {
    ok: true,
    value: {
      sessionTimeSec: sessionTime,
      inputOctets: BigInt(inOctets) + TWO_TO_32 * BigInt(inGigawords),
      outputOctets: BigInt(outOctets) + TWO_TO_32 * BigInt(outGigawords),
      ...(timestamp.status === 'ok' ? { eventTimestampSec: timestamp.value } : {}),
      delaySec: delay,
    },
  };
}

function readIdentity(
  request: AccountingRequest,
  attribute: IdentityAttribute,
): { ok: true; type: IdentityType; value: string } | { ok: false; reject: AccountingOutcome } {
  const type: IdentityType = IDENTITY_ATTRIBUTES[attribute];
  const { packet } = request;
  let read: AttributeRead<string>;
  switch (attribute) {
    case 'User-Name':
      read = readText(packet, A.UserName);
      break;
    case 'Calling-Station-Id':
      read = readText(packet, A.CallingStationId);
      break;
    case 'NAS-Port-Id':
      read = readText(packet, A.NasPortId);
      break;
    case 'Agent-Circuit-Id':
      read = readVendorText(packet, VENDOR_ADSL_FORUM, ADSL_AGENT_CIRCUIT_ID);
      break;
    case '3GPP-IMSI':
      read = readVendorText(packet, VENDOR_3GPP, THREE_GPP_IMSI);
      break;
  }
  if (read.status !== 'ok') {
    const outcome = fieldReject(attribute, read);
    return { ok: false, reject: outcome };
  }
  const normalised = tryNormaliseIdentity(type, read.value);
  if (!normalised.ok) {
    return {
      ok: false,
      reject: reject(
        'unparseable',
        attribute,
        `${attribute} is not a valid ${IDENTITY_LABELS[type]}: it ${normalised.reason}`,
      ),
    };
  }
  return { ok: true, type, value: normalised.value };
}

function fieldReject(field: string, read: AttributeRead<unknown>): AccountingOutcome {
  return read.status === 'absent'
    ? reject('missing_field', field, `${field} is absent`)
    : reject('malformed_record', field, read.status === 'malformed' ? read.detail : `${field} is malformed`);
}

function reject(reason: RejectReason, field: string, message: string): AccountingOutcome {
  return { kind: 'reject', reason, field, message };
}
