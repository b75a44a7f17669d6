/**
 * The Diameter credit-control server: a TCP peer (RFC 6733 over node:net, port 3868) that speaks
 * the base protocol and hands Credit-Control-Requests (RFC 4006, application 4, command 272) to
 * the charging core.
 *
 * Peer life cycle (RFC 6733 section 5, as the responder):
 * - A new connection must open with a CER. Anything else first is not a valid event in the
 *   responder's Closed/Wait-CER state (section 5.6), so the connection is closed without an answer;
 *   so is a connection that sends nothing within `capabilitiesTimeoutMs`.
 * - The CEA carries our Origin-Host/Realm, Host-IP-Address, Vendor-Id, Product-Name,
 *   Origin-State-Id and Auth-Application-Id 4. A peer advertising neither application 4 nor the
 *   relay application gets 5010 DIAMETER_NO_COMMON_APPLICATION; one insisting on TLS through
 *   Inband-Security-Id gets 5017 DIAMETER_NO_COMMON_SECURITY; one refused by `acceptPeer` gets
 *   3010 DIAMETER_UNKNOWN_PEER. Each is followed by closing the connection (section 5.3).
 * - DWR gets DWA. When the line is idle for `watchdogIntervalMs` we send a DWR ourselves and
 *   close the connection if the next interval passes without traffic (RFC 3539 style).
 * - DPR gets DPA; we then close once the requests in flight are answered.
 *
 * Errors. A request that does not decode is answered with the Result-Code the decoder named, the
 * E bit set for protocol errors (3xxx, section 7.1.3), Failed-AVP where the RFC asks for it, and
 * Session-Id, Proxy-Info and (for a CCR) CC-Request-Type/Number copied when they can be read. A
 * stream that cannot be framed any more (bad version, impossible length) is answered if the
 * header was readable and then closed. Nothing a peer sends can throw out of the server.
 *
 * Pipelining: requests are handled concurrently and answered as their handlers finish, in any
 * order; the client matches answers by Hop-by-Hop Identifier.
 *
 * Retransmissions: a CCR with the T bit set reaches the handler with `retransmission: true`; the
 * charging core deduplicates by Session-Id and CC-Request-Number. In front of that, the server
 * keeps the last `answerCacheSize` CCAs keyed by Origin-Host, Session-Id, CC-Request-Number and
 * End-to-End Identifier, and answers a retransmission that matches one of them from the cache. The
 * key leaves out the Hop-by-Hop Identifier on purpose: a retransmission after failover arrives on
 * another connection with a new one (RFC 6733 section 5.5.4); the cached answer is re-stamped with
 * the new Hop-by-Hop Identifier.
 *
 * Re-authorisation (RFC 4006 section 5.5): the server remembers, per Session-Id, the peer whose
 * connection carried the session's last CCR and the CCR's Origin-Host/Realm (the client, which a
 * relay agent may stand in front of), so `reAuthorizeSession` can send a RAR back the way the
 * session came. A TERMINATE forgets the session; at most `sessionRouteCapacity` sessions are kept,
 * those not heard from for longest forgotten first (see SessionRoutes).
 */
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { systemClock, type Clock } from '../../kernel/clock.js';
import { fail } from '../../kernel/errors.js';
import {
  CommandFlag,
  DEFAULT_MAX_MESSAGE_LENGTH,
  avp,
  answerHeader,
  encodeMessage,
  exampleAvp,
  findAvps,
  groupedChildren,
  peekHeader,
  scanAvps,
  DiameterDecodeError,
  type DiameterAvp,
  type DiameterHeader,
  type DiameterMessage,
} from './codec.js';
import { DiameterConnection, type DiameterLogger } from './connection.js';
import {
  buildCreditControlAnswer,
  buildReAuthRequest,
  parseCreditControlRequest,
  parseReAuthAnswer,
  type CreditControlAnswer,
  type CreditControlRequest,
  type ReAuthAnswer,
  type ReAuthRequestInit,
} from './credit-control.js';
import {
  DiameterApplication,
  DiameterCommand,
  defaultDictionary,
  type DiameterDictionary,
} from './dictionary.js';
import { DiameterErrors } from './errors.js';
import { ResultCode, isProtocolError } from './result-codes.js';

export const DIAMETER_PORT = 3868;
const DEFAULT_CAPABILITIES_TIMEOUT_MS = 10_000;
const DEFAULT_WATCHDOG_INTERVAL_MS = 30_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_ANSWER_CACHE_SIZE = 10_000;
const DEFAULT_MAX_IN_FLIGHT = 10_000;
const DEFAULT_CLOSE_TIMEOUT_MS = 5_000;
const DEFAULT_SESSION_ROUTE_CAPACITY = 1_000_000;

/** What the server learned about a peer from its CER. */
export interface PeerInfo {
  readonly originHost: string;
  readonly originRealm: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly hostIpAddresses: readonly string[];
  readonly vendorId: number;
  readonly productName: string;
  readonly originStateId?: number;
  readonly authApplicationIds: readonly number[];
  readonly acctApplicationIds: readonly number[];
}

/** The charging core's entry point for online charging. */
export interface CreditControlHandler {
  /**
   * Answers one CCR. Throwing is answered with 5012 DIAMETER_UNABLE_TO_COMPLY; a Result-Code of
   * class 3xxx gets the E bit.
   */
  creditControl(request: CreditControlRequest, peer: PeerInfo): Promise<CreditControlAnswer>;
}

export interface DiameterServerOptions {
  /** Address to bind; 127.0.0.1 by default (open it to the network deliberately). */
  readonly host?: string;
  /** TCP port; 3868 by default, 0 for an ephemeral port (tests). */
  readonly port?: number;
  /** Our DiameterIdentity, e.g. `ocs1.tollgate.example`. */
  readonly originHost: string;
  readonly originRealm: string;
  /** Host-IP-Address values for the CEA; the connection's local address when not given. */
  readonly hostIpAddresses?: readonly string[];
  /** Product-Name of the CEA; `Tollgate` by default. */
  readonly productName?: string;
  /** Vendor-Id of the CEA; 0 by default (no IANA enterprise number of our own). */
  readonly vendorId?: number;
  readonly firmwareRevision?: number;
  readonly creditControl: CreditControlHandler;
  /** Decides whether a peer, as identified by its CER, may connect; all may by default. */
  readonly acceptPeer?: (peer: PeerInfo) => boolean;
  readonly clock?: Clock;
  readonly logger?: DiameterLogger;
  readonly dictionary?: DiameterDictionary;
  /** Largest message accepted; 1 MiB by default. */
  readonly maxMessageLength?: number;
  /** How long a new connection may take to send its CER; 10 s by default. */
  readonly capabilitiesTimeoutMs?: number;
  /** Idle time before we send a DWR (Tw); 30 s by default; 0 turns our watchdog off. */
  readonly watchdogIntervalMs?: number;
  /** How long a RAR (or our DWR) waits for its answer; 10 s by default. */
  readonly requestTimeoutMs?: number;
  /** CCAs kept for answering retransmissions; 10 000 by default; 0 turns the cache off. */
  readonly answerCacheSize?: number;
  /** CCRs handled at once per connection; beyond it the answer is 3004 DIAMETER_TOO_BUSY. */
  readonly maxInFlightPerConnection?: number;
  /**
   * Sessions whose route (peer, Origin-Host/Realm) is remembered for re-authorisation; 1 000 000
   * by default (about 100 bytes each); 0 turns the memory, and so `reAuthorizeSession`, off.
   */
  readonly sessionRouteCapacity?: number;
}

/** Where a RAR for a session goes: learned from the session's last CCR. */
export interface SessionRoute {
  /** The Origin-Host of the peer (from its CER) whose connection carried the CCR. */
  readonly peer: string;
  /** The CCR's Origin-Host and Origin-Realm: the RAR's Destination-Host and Destination-Realm. */
  readonly destinationHost: string;
  readonly destinationRealm: string;
  /**
   * The CCRs carried Multiple-Services-Credit-Control, so the client knows rating groups. A
   * single-service client is re-authorised for its whole session (no Rating-Group in the RAR).
   */
  readonly multipleServices: boolean;
}

/** What the RAR of `reAuthorizeSession` carries besides the fixed AVPs. */
export type SessionReAuthRequest = Omit<
  ReAuthRequestInit,
  'sessionId' | 'originHost' | 'originRealm' | 'destinationHost' | 'destinationRealm'
>;

export interface DiameterServerCounters {
  readonly connections: number;
  readonly openPeers: number;
  readonly creditControlRequests: number;
  readonly creditControlAnswers: number;
  readonly answeredFromCache: number;
  readonly handlerFailures: number;
  readonly decodeErrors: number;
  readonly tooBusy: number;
  /** Sessions whose route is remembered now. */
  readonly sessionRoutes: number;
  readonly reAuthRequests: number;
  readonly reAuthAnswers: number;
}

export interface DiameterServer {
  /** The bound address and port (the real port when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number };
  /** Peers that completed the capabilities exchange. */
  peers(): PeerInfo[];
  /**
   * Sends a RAR to the connected peer `originHost` and resolves with its RAA. Destination-Host and
   * Destination-Realm are the peer's unless given (a client behind a relay agent). Rejects with
   * diameter.peer_not_connected, diameter.request_timeout, diameter.connection_closed or
   * diameter.invalid_answer.
   */
  sendReAuthRequest(
    originHost: string,
    request: Omit<
      ReAuthRequestInit,
      'originHost' | 'originRealm' | 'destinationHost' | 'destinationRealm'
    > & {
      readonly destinationHost?: string;
      readonly destinationRealm?: string;
    },
  ): Promise<ReAuthAnswer>;
  /**
   * Sends a RAR (Re-Auth-Request-Type AUTHORIZE_ONLY) for a session to the peer whose connection
   * carried its last CCR, with the CCR's Origin-Host/Realm as Destination-Host/Realm, and
   * resolves with the RAA. Resolves with undefined, sending nothing, when no route is known for
   * the session (never seen here, terminated, or forgotten). The Rating-Group is left out for a
   * session of a single-service client. An RAA of 5002 DIAMETER_UNKNOWN_SESSION_ID forgets the
   * session. Rejects as `sendReAuthRequest` does.
   */
  reAuthorizeSession(sessionId: string, request?: SessionReAuthRequest): Promise<ReAuthAnswer | undefined>;
  /** The route remembered for a session, if any. */
  sessionRoute(sessionId: string): SessionRoute | undefined;
  counters(): DiameterServerCounters;
  /**
   * Stops accepting connections, sends DPR (Disconnect-Cause REBOOTING) to every open peer, waits
   * (at most about 5 s) for the answers in flight and the DPAs, then closes everything.
   */
  close(): Promise<void>;
}

type PeerState = 'waiting-cer' | 'open' | 'closing';

interface PeerConnection {
  readonly connection: DiameterConnection;
  state: PeerState;
  peer: PeerInfo | undefined;
  inFlight: number;
  /** The CCRs being handled, so close() can wait for their answers. */
  readonly tasks: Set<Promise<void>>;
  timer: NodeJS.Timeout | undefined;
  watchdogOutstanding: boolean;
  /** The route of this connection's last routed CCR, shared by the sessions it fits. */
  lastRoute: SessionRoute | undefined;
}

/** Binds the socket and starts serving; resolves once listening. */
export async function startDiameterServer(options: DiameterServerOptions): Promise<DiameterServer> {
  const host = options.host ?? '127.0.0.1';
  const clock = options.clock ?? systemClock;
  const logger = options.logger;
  const dictionary = options.dictionary ?? defaultDictionary;
  const productName = options.productName ?? 'Tollgate';
  const vendorId = options.vendorId ?? 0;
  const capabilitiesTimeoutMs = options.capabilitiesTimeoutMs ?? DEFAULT_CAPABILITIES_TIMEOUT_MS;
  const watchdogIntervalMs = options.watchdogIntervalMs ?? DEFAULT_WATCHDOG_INTERVAL_MS;
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const answerCacheSize = options.answerCacheSize ?? DEFAULT_ANSWER_CACHE_SIZE;
  const maxInFlight = options.maxInFlightPerConnection ?? DEFAULT_MAX_IN_FLIGHT;
  const maxMessageLength = options.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
  const routes = new SessionRoutes(
    Math.max(options.sessionRouteCapacity ?? DEFAULT_SESSION_ROUTE_CAPACITY, 0),
  );
  if (options.originHost === '' || options.originRealm === '') {
    throw fail(DiameterErrors.invalid_config, 'the Diameter server needs an Origin-Host and an Origin-Realm');
  }
  // RFC 6733 section 8.16: Origin-State-Id increases each time the node restarts with its state
  // lost; the start time in seconds does that.
  const originStateId = Math.floor(clock.nowMs() / 1000) >>> 0;
  const local = { originHost: options.originHost, originRealm: options.originRealm, originStateId };

  const counts = {
    connections: 0,
    creditControlRequests: 0,
    creditControlAnswers: 0,
    answeredFromCache: 0,
    handlerFailures: 0,
    decodeErrors: 0,
    tooBusy: 0,
    reAuthRequests: 0,
    reAuthAnswers: 0,
  };
  const connections = new Set<PeerConnection>();
  const byOriginHost = new Map<string, PeerConnection>();
  // The answer cache is a Map plus a ring of its keys in insertion order: the ring says which key
  // to evict. (Evicting through map.keys().next() would walk past every deleted slot at the front
  // of V8's ordered table on each call.)
  const answerCache = new Map<string, Buffer>();
  const cacheRing: (string | undefined)[] = new Array<string | undefined>(Math.max(answerCacheSize, 0));
  let cacheNext = 0;
  let closing = false;

  const server: Server = createServer({ noDelay: true }, (socket) => onConnection(socket));
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(options.port ?? DIAMETER_PORT, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => logger?.error({ err: error.message }, 'diameter server socket error'));
  const bound = server.address();
  const address =
    bound !== null && typeof bound === 'object'
      ? { host: bound.address, port: bound.port }
      : { host, port: 0 };
  logger?.info({ ...address, originHost: local.originHost }, 'diameter server listening');

  function onConnection(socket: Socket): void {
    if (closing) {
      socket.destroy();
      return;
    }
    counts.connections += 1;
    // The handlers below close over `entry`, which is assigned right after the connection exists.
    // eslint-disable-next-line prefer-const
    let entry: PeerConnection;
    const connection = new DiameterConnection(
      socket,
      { maxMessageLength, dictionary, requestTimeoutMs, clock, ...(logger === undefined ? {} : { logger }) },
      {
        onRequest: (message) => onRequest(entry, message),
        onDecodeError: (error, frame) => onDecodeError(entry, error, frame),
        onActivity: () => {
          entry.watchdogOutstanding = false;
          entry.timer?.refresh();
        },
        onClose: () => {
          if (entry.timer !== undefined) clearTimeout(entry.timer);
          connections.delete(entry);
          if (entry.peer !== undefined && byOriginHost.get(entry.peer.originHost) === entry) {
            byOriginHost.delete(entry.peer.originHost);
          }
          logger?.debug(
            { peer: entry.peer?.originHost, remote: connection.remoteAddress },
            'diameter connection closed',
          );
        },
      },
    );
    entry = {
      connection,
      state: 'waiting-cer',
      peer: undefined,
      inFlight: 0,
      tasks: new Set(),
      timer: undefined,
      watchdogOutstanding: false,
      lastRoute: undefined,
    };
    connections.add(entry);
    entry.timer = setTimeout(() => {
      if (entry.state === 'waiting-cer') {
        logger?.info({ remote: connection.remoteAddress }, 'diameter peer sent no CER in time; closing');
        connection.destroy();
      }
    }, capabilitiesTimeoutMs);
    entry.timer.unref();
  }

  function startWatchdog(entry: PeerConnection): void {
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (watchdogIntervalMs <= 0) return;
    entry.timer = setTimeout(() => onWatchdog(entry), watchdogIntervalMs);
    entry.timer.unref();
  }

  function onWatchdog(entry: PeerConnection): void {
    if (entry.state !== 'open') return;
    if (entry.watchdogOutstanding) {
      // A whole interval passed after our DWR without any traffic: the peer is gone.
      logger?.warn({ peer: entry.peer?.originHost }, 'diameter peer failed the watchdog; closing');
      entry.connection.destroy();
      return;
    }
    entry.watchdogOutstanding = true;
    entry.connection
      .request(
        { flags: 0, commandCode: DiameterCommand.DeviceWatchdog, applicationId: 0, avps: baseAvps() },
        watchdogIntervalMs,
      )
      .catch(() => undefined);
    entry.timer?.refresh();
  }

  function baseAvps(resultCode?: number): DiameterAvp[] {
    const avps: DiameterAvp[] = [];
    if (resultCode !== undefined) avps.push(avp('Result-Code', resultCode));
    avps.push(avp('Origin-Host', local.originHost), avp('Origin-Realm', local.originRealm));
    return avps;
  }

  function send(entry: PeerConnection, message: DiameterMessage): void {
    entry.connection.send(encodeMessage(message));
  }

  function onRequest(entry: PeerConnection, message: DiameterMessage): void {
    if (entry.state === 'waiting-cer') {
      if (message.commandCode !== DiameterCommand.CapabilitiesExchange) {
        logger?.info(
          { remote: entry.connection.remoteAddress, commandCode: message.commandCode },
          'diameter request before CER; closing',
        );
        entry.connection.destroy();
        return;
      }
      onCapabilitiesExchange(entry, message);
      return;
    }
    if (entry.state === 'closing') {
      // After DPR/DPA no new work is taken; the peer is expected to close.
      send(entry, errorAnswer(message, ResultCode.DIAMETER_TOO_BUSY, 'the connection is being closed'));
      return;
    }
    switch (message.commandCode) {
      case DiameterCommand.DeviceWatchdog:
        send(entry, {
          ...answerHeader(message),
          avps: [...baseAvps(ResultCode.DIAMETER_SUCCESS), avp('Origin-State-Id', originStateId)],
        });
        return;
      case DiameterCommand.DisconnectPeer:
        send(entry, { ...answerHeader(message), avps: baseAvps(ResultCode.DIAMETER_SUCCESS) });
        entry.state = 'closing';
        if (entry.inFlight === 0) entry.connection.end();
        return;
      case DiameterCommand.CapabilitiesExchange:
        // RFC 6733 section 5.6: a CER on an open connection is not expected; it cannot be honoured.
        send(
          entry,
          errorAnswer(message, ResultCode.DIAMETER_UNABLE_TO_COMPLY, 'capabilities were already exchanged'),
        );
        return;
      case DiameterCommand.CreditControl:
        if (message.applicationId === DiameterApplication.CreditControl) {
          const task = onCreditControl(entry, message);
          entry.tasks.add(task);
          void task.finally(() => entry.tasks.delete(task));
          return;
        }
        break;
    }
    const known =
      message.applicationId === DiameterApplication.Common ||
      message.applicationId === DiameterApplication.CreditControl;
    send(
      entry,
      known
        ? errorAnswer(
            message,
            ResultCode.DIAMETER_COMMAND_UNSUPPORTED,
            `command ${message.commandCode} is not supported`,
          )
        : errorAnswer(
            message,
            ResultCode.DIAMETER_APPLICATION_UNSUPPORTED,
            `application ${message.applicationId} is not supported`,
          ),
    );
  }

  function onCapabilitiesExchange(entry: PeerConnection, message: DiameterMessage): void {
    const reject = (resultCode: number, text: string, failedAvp?: DiameterAvp): void => {
      logger?.info(
        { remote: entry.connection.remoteAddress, resultCode, reason: text },
        'diameter CER refused',
      );
      send(entry, capabilitiesAnswer(entry, message, resultCode, text, failedAvp));
      entry.connection.end();
    };
    const first = (name: string): DiameterAvp | undefined => findAvps(message, name, dictionary)[0];
    for (const name of ['Origin-Host', 'Origin-Realm', 'Host-IP-Address', 'Vendor-Id', 'Product-Name']) {
      if (first(name) === undefined) {
        return reject(
          ResultCode.DIAMETER_MISSING_AVP,
          `the CER lacks ${name}`,
          exampleAvp(dictionary.require(name)),
        );
      }
    }
    const authApplicationIds = findAvps(message, 'Auth-Application-Id', dictionary).map(
      (a) => a.value as number,
    );
    const acctApplicationIds = findAvps(message, 'Acct-Application-Id', dictionary).map(
      (a) => a.value as number,
    );
    for (const vendorApplication of findAvps(message, 'Vendor-Specific-Application-Id', dictionary)) {
      for (const item of groupedChildren(vendorApplication)) {
        if (item.code === 258 && item.vendorId === 0) authApplicationIds.push(item.value as number);
        if (item.code === 259 && item.vendorId === 0) acctApplicationIds.push(item.value as number);
      }
    }
    const originStateIdAvp = first('Origin-State-Id');
    const peer: PeerInfo = {
      originHost: first('Origin-Host')!.value as string,
      originRealm: first('Origin-Realm')!.value as string,
      remoteAddress: entry.connection.remoteAddress,
      remotePort: entry.connection.remotePort,
      hostIpAddresses: findAvps(message, 'Host-IP-Address', dictionary).map((a) =>
        typeof a.value === 'string' ? a.value : `family ${(a.value as { family: number }).family}`,
      ),
      vendorId: first('Vendor-Id')!.value as number,
      productName: first('Product-Name')!.value as string,
      ...(originStateIdAvp === undefined ? {} : { originStateId: originStateIdAvp.value as number }),
      authApplicationIds,
      acctApplicationIds,
    };
    const inbandSecurity = findAvps(message, 'Inband-Security-Id', dictionary).map((a) => a.value as number);
    if (inbandSecurity.length > 0 && !inbandSecurity.includes(0)) {
      // We offer no TLS after CER (RFC 6733 section 6.10, NO_INBAND_SECURITY only).
      return reject(ResultCode.DIAMETER_NO_COMMON_SECURITY, 'only NO_INBAND_SECURITY (0) is supported');
    }
    if (options.acceptPeer !== undefined && !options.acceptPeer(peer)) {
      return reject(ResultCode.DIAMETER_UNKNOWN_PEER, `peer ${peer.originHost} is not allowed`);
    }
    const common =
      authApplicationIds.includes(DiameterApplication.CreditControl) ||
      authApplicationIds.includes(DiameterApplication.Relay) ||
      acctApplicationIds.includes(DiameterApplication.Relay);
    if (!common) {
      return reject(
        ResultCode.DIAMETER_NO_COMMON_APPLICATION,
        'the peer advertises neither Diameter Credit-Control (4) nor relay',
      );
    }
    entry.state = 'open';
    entry.peer = peer;
    byOriginHost.set(peer.originHost, entry);
    send(entry, capabilitiesAnswer(entry, message, ResultCode.DIAMETER_SUCCESS));
    startWatchdog(entry);
    logger?.info(
      {
        peer: peer.originHost,
        realm: peer.originRealm,
        remote: peer.remoteAddress,
        product: peer.productName,
      },
      'diameter peer connected',
    );
  }

  function capabilitiesAnswer(
    entry: PeerConnection,
    request: DiameterHeader,
    resultCode: number,
    errorMessage?: string,
    failedAvp?: DiameterAvp,
  ): DiameterMessage {
    const avps = baseAvps(resultCode);
    for (const ip of options.hostIpAddresses ?? [localAddress(entry.connection.socket)]) {
      avps.push(avp('Host-IP-Address', ip));
    }
    avps.push(
      avp('Vendor-Id', vendorId),
      avp('Product-Name', productName),
      avp('Origin-State-Id', originStateId),
      avp('Auth-Application-Id', DiameterApplication.CreditControl),
    );
    if (options.firmwareRevision !== undefined) avps.push(avp('Firmware-Revision', options.firmwareRevision));
    if (errorMessage !== undefined && resultCode !== ResultCode.DIAMETER_SUCCESS) {
      avps.push(avp('Error-Message', errorMessage));
    }
    if (failedAvp !== undefined) avps.push(avp('Failed-AVP', [failedAvp]));
    return { ...answerHeader(request, isProtocolError(resultCode)), avps };
  }

  /** An answer for a request we refuse: the RFC 6733 section 7.2 shape, plus CCA fields for CCRs. */
  function errorAnswer(
    request: DiameterMessage,
    resultCode: number,
    errorMessage: string,
    failedAvp?: DiameterAvp,
  ): DiameterMessage {
    const avps: DiameterAvp[] = [];
    const sessionId = request.avps.find((a) => a.code === 263 && a.vendorId === 0);
    if (sessionId !== undefined) avps.push(sessionId);
    avps.push(...baseAvps(resultCode));
    if (isCreditControl(request) && !isProtocolError(resultCode)) {
      // A 5xxx answer is a CCA and keeps the CCA's fixed AVPs (RFC 4006 section 3.2).
      avps.push(avp('Auth-Application-Id', DiameterApplication.CreditControl));
      for (const a of request.avps) if ((a.code === 416 || a.code === 415) && a.vendorId === 0) avps.push(a);
    }
    avps.push(avp('Error-Message', errorMessage));
    if (failedAvp !== undefined) avps.push(avp('Failed-AVP', [failedAvp]));
    avps.push(...request.avps.filter((a) => a.code === 284 && a.vendorId === 0));
    return { ...answerHeader(request, isProtocolError(resultCode)), avps };
  }

  function onDecodeError(entry: PeerConnection, error: DiameterDecodeError, frame: Buffer | undefined): void {
    counts.decodeErrors += 1;
    const header = error.header ?? (frame === undefined ? undefined : peekHeader(frame));
    logger?.warn(
      {
        peer: entry.peer?.originHost,
        remote: entry.connection.remoteAddress,
        resultCode: error.resultCode,
        reason: error.message,
        fatal: error.fatal,
      },
      'diameter message could not be decoded',
    );
    if (header === undefined || (header.flags & CommandFlag.Request) === 0) {
      // Nothing to answer (no header, or an answer we could not read); a broken stream is closed.
      if (entry.state === 'waiting-cer' || error.fatal) entry.connection.destroy();
      return;
    }
    if (entry.state === 'waiting-cer' && header.commandCode !== DiameterCommand.CapabilitiesExchange) {
      entry.connection.destroy();
      return;
    }
    // Copy what can still be read from the raw request into the answer.
    const scanned = frame === undefined ? [] : scanAvps(frame);
    const copied: DiameterAvp[] = [];
    for (const item of scanned) {
      if (item.vendorId !== 0) continue;
      if (item.code === 263 || item.code === 284 || item.code === 416 || item.code === 415) {
        copied.push({
          code: item.code,
          vendorId: 0,
          flags: item.flags & 0x60,
          name: '',
          type: 'OctetString',
          value: item.data,
        });
      }
    }
    const request: DiameterMessage = { ...header, avps: copied };
    const answer =
      header.commandCode === DiameterCommand.CapabilitiesExchange
        ? capabilitiesAnswer(entry, header, error.resultCode, error.message, error.failedAvp)
        : errorAnswer(request, error.resultCode, error.message, error.failedAvp);
    try {
      send(entry, answer);
    } catch (encodeError) {
      logger?.error({ err: (encodeError as Error).message }, 'diameter error answer could not be encoded');
    }
    if (entry.state === 'waiting-cer' || error.fatal) entry.connection.end();
  }

  async function onCreditControl(entry: PeerConnection, message: DiameterMessage): Promise<void> {
    counts.creditControlRequests += 1;
    let request: CreditControlRequest;
    try {
      request = parseCreditControlRequest(message);
    } catch (error) {
      counts.decodeErrors += 1;
      if (error instanceof DiameterDecodeError) {
        send(entry, errorAnswer(message, error.resultCode, error.message, error.failedAvp));
      } else {
        logger?.error({ err: errorText(error) }, 'credit-control request mapping failed');
        send(
          entry,
          errorAnswer(message, ResultCode.DIAMETER_UNABLE_TO_COMPLY, 'the request could not be read'),
        );
      }
      return;
    }
    // The route is learned before the handler runs: a credit that lands while the CCR is being
    // answered may already ask to re-authorise the session.
    if (request.requestType === 'TERMINATE') routes.forget(request.sessionId);
    else if (request.requestType !== 'EVENT') routes.remember(request.sessionId, routeOf(entry, request));
    const cacheKey =
      answerCacheSize > 0
        ? `${request.originHost}\n${request.sessionId}\n${request.requestNumber}\n${request.endToEndId}`
        : undefined;
    if (request.retransmission && cacheKey !== undefined) {
      const cached = answerCache.get(cacheKey);
      if (cached !== undefined) {
        counts.answeredFromCache += 1;
        const copy = Buffer.from(cached);
        copy.writeUInt32BE(request.hopByHopId, 12);
        entry.connection.send(copy);
        return;
      }
    }
    if (entry.inFlight >= maxInFlight) {
      counts.tooBusy += 1;
      send(entry, errorAnswer(message, ResultCode.DIAMETER_TOO_BUSY, 'too many requests in flight'));
      return;
    }
    entry.inFlight += 1;
    let bytes: Buffer;
    try {
      let answer: CreditControlAnswer;
      try {
        answer = await options.creditControl.creditControl(request, entry.peer!);
      } catch (error) {
        counts.handlerFailures += 1;
        logger?.error(
          { peer: entry.peer?.originHost, sessionId: request.sessionId, err: errorText(error) },
          'credit-control handler failed; answering DIAMETER_UNABLE_TO_COMPLY',
        );
        answer = { resultCode: ResultCode.DIAMETER_UNABLE_TO_COMPLY };
      }
      // A permanent failure ends the session at the client (RFC 4006 section 9: a rejected CCR
      // should cause the session to be terminated); there is nothing left to re-authorise.
      if (answer.resultCode >= 5000 && answer.resultCode < 6000) routes.forget(request.sessionId);
      try {
        bytes = encodeMessage(buildCreditControlAnswer(request, answer, local));
      } catch (error) {
        counts.handlerFailures += 1;
        logger?.error(
          { peer: entry.peer?.originHost, sessionId: request.sessionId, err: errorText(error) },
          'credit-control answer could not be encoded; answering DIAMETER_UNABLE_TO_COMPLY',
        );
        bytes = encodeMessage(
          buildCreditControlAnswer(request, { resultCode: ResultCode.DIAMETER_UNABLE_TO_COMPLY }, local),
        );
      }
    } finally {
      entry.inFlight -= 1;
    }
    counts.creditControlAnswers += 1;
    if (cacheKey !== undefined && !answerCache.has(cacheKey)) {
      const evicted = cacheRing[cacheNext];
      if (evicted !== undefined) answerCache.delete(evicted);
      cacheRing[cacheNext] = cacheKey;
      cacheNext = (cacheNext + 1) % answerCacheSize;
      answerCache.set(cacheKey, bytes);
    }
    entry.connection.send(bytes);
    if (entry.state === 'closing' && entry.inFlight === 0) entry.connection.end();
  }

  /** The route of a CCR that came over `entry`; one object per connection while CCRs agree. */
  function routeOf(entry: PeerConnection, request: CreditControlRequest): SessionRoute {
    const multipleServices = request.services.length > 0;
    const last = entry.lastRoute;
    if (
      last !== undefined &&
      last.destinationHost === request.originHost &&
      last.destinationRealm === request.originRealm &&
      last.multipleServices === multipleServices
    ) {
      return last;
    }
    entry.lastRoute = {
      peer: entry.peer!.originHost,
      destinationHost: request.originHost,
      destinationRealm: request.originRealm,
      multipleServices,
    };
    return entry.lastRoute;
  }

  async function sendReAuthRequest(
    originHost: string,
    init: Parameters<DiameterServer['sendReAuthRequest']>[1],
  ): Promise<ReAuthAnswer> {
    const entry = byOriginHost.get(originHost);
    if (entry === undefined || entry.state !== 'open' || entry.peer === undefined) {
      throw fail(DiameterErrors.peer_not_connected, `no open Diameter connection to ${originHost}`);
    }
    const message = buildReAuthRequest(
      {
        ...init,
        originHost: local.originHost,
        originRealm: local.originRealm,
        destinationHost: init.destinationHost ?? entry.peer.originHost,
        destinationRealm: init.destinationRealm ?? entry.peer.originRealm,
      },
      { hopByHopId: 0, endToEndId: 0 },
    );
    const { hopByHopId: _hop, endToEndId: _end, ...withoutIds } = message;
    counts.reAuthRequests += 1;
    const answer = await entry.connection.request(withoutIds);
    counts.reAuthAnswers += 1;
    try {
      return parseReAuthAnswer(answer);
    } catch (error) {
      throw fail(DiameterErrors.invalid_answer, errorText(error), { cause: error });
    }
  }

  let closed: Promise<void> | undefined;
  return {
    address,
    peers: () => [...byOriginHost.values()].map((entry) => entry.peer!),
    counters: () => ({ ...counts, openPeers: byOriginHost.size, sessionRoutes: routes.size }),
    sendReAuthRequest,
    async reAuthorizeSession(sessionId, request = {}) {
      const route = routes.get(sessionId);
      if (route === undefined) return undefined;
      const { ratingGroup, ...rest } = request;
      const answer = await sendReAuthRequest(route.peer, {
        ...rest,
        // RFC 4006 section 10.2: at most one Rating-Group; a client that never sent MSCC knows none.
        ...(ratingGroup !== undefined && route.multipleServices ? { ratingGroup } : {}),
        sessionId,
        destinationHost: route.destinationHost,
        destinationRealm: route.destinationRealm,
      });
      if (answer.resultCode === ResultCode.DIAMETER_UNKNOWN_SESSION_ID) routes.forget(sessionId);
      return answer;
    },
    sessionRoute: (sessionId) => routes.get(sessionId),
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
        await Promise.all(
          [...connections].map(async (entry) => {
            if (entry.state !== 'open') {
              entry.connection.destroy();
              return;
            }
            entry.state = 'closing';
            // RFC 6733 section 5.4: tell the peer before closing, so it does not fail over noisily.
            const disconnected = entry.connection
              .request(
                {
                  flags: 0,
                  commandCode: DiameterCommand.DisconnectPeer,
                  applicationId: 0,
                  avps: [...baseAvps(), avp('Disconnect-Cause', 'REBOOTING')],
                },
                DEFAULT_CLOSE_TIMEOUT_MS,
              )
              .catch(() => undefined);
            await Promise.race([Promise.allSettled([...entry.tasks]), delay(DEFAULT_CLOSE_TIMEOUT_MS)]);
            await disconnected;
            entry.connection.end();
            await Promise.race([entry.connection.closed, delay(2_500)]);
            entry.connection.destroy();
          }),
        );
        await serverClosed;
        logger?.info({ port: address.port }, 'diameter server closed');
      })();
      return closed;
    },
  };
}

/**
 * The routes of the sessions, at most `capacity` of them, in two generations of half that: new
 * and re-heard sessions go into the newer one, and when it is full the older one is dropped whole
 * and the newer one takes its place. A session is therefore kept at least until `capacity / 2`
 * other sessions have been heard from since it was, and a CCR of a session whose route is already
 * in the newer generation costs one lookup. (An exact LRU order would move every session to the
 * back of a Map on each CCR, a delete and a set, which costs several times a lookup on the
 * answering path.)
 */
class SessionRoutes {
  private newer = new Map<string, SessionRoute>();
  private older = new Map<string, SessionRoute>();
  private readonly generation: number;

  constructor(capacity: number) {
    // Two generations of ceil(capacity / 2), the newer one rolled before it reaches its size:
    // at most 2 × ceil(capacity / 2) - 1 <= capacity routes.
    this.generation = Math.ceil(capacity / 2);
  }

  get size(): number {
    return this.newer.size + this.older.size;
  }

  get(sessionId: string): SessionRoute | undefined {
    return this.newer.get(sessionId) ?? this.older.get(sessionId);
  }

  remember(sessionId: string, route: SessionRoute): void {
    if (this.generation === 0 || this.newer.get(sessionId) === route) return;
    this.older.delete(sessionId);
    this.newer.set(sessionId, route);
    if (this.newer.size >= this.generation) {
      this.older = this.newer;
      this.newer = new Map();
    }
  }

  forget(sessionId: string): void {
    this.newer.delete(sessionId);
    this.older.delete(sessionId);
  }
}

function isCreditControl(header: DiameterHeader): boolean {
  return (
    header.commandCode === DiameterCommand.CreditControl &&
    header.applicationId === DiameterApplication.CreditControl
  );
}

/** The connection's local address as a plain IPv4 address when it is an IPv4-mapped IPv6 one. */
function localAddress(socket: Socket): string {
  const address = socket.localAddress ?? '127.0.0.1';
  if (address.startsWith('::ffff:') && !isIPv6(address.slice(7))) return address.slice(7);
  return address;
}

/** A timer that does not keep the process alive. */
function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
