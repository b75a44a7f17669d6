/**
 * The RADIUS accounting server (RFC 2866 over UDP, port 1813).
 *
 * For each datagram: decode it (malformed → dropped), check it is an Accounting-Request from a
 * configured client (unknown source → dropped) whose Request Authenticator verifies with that
 * client's secret (mismatch → dropped), then hand it to `handle`, the caller's sink, and send the
 * Accounting-Response only once `handle` has resolved. RFC 2866 section 2 ties the response to the
 * record being safely stored: if `handle` throws, nothing is sent and the NAS retransmits. Every
 * drop is silent on the wire, as RFC 2865 section 3 asks, and counted.
 *
 * Retransmissions. A NAS that got no response sends the same packet again (same identifier, same
 * Request Authenticator). The server keeps, per (source address, identifier, authenticator):
 * - while the first copy is being handled, an in-flight mark: copies are dropped (counted as
 *   `duplicatesInFlight`) so `handle` never sees the same request twice at once;
 * - once answered, the response, for `duplicateWindowMs`: copies get the cached response without
 *   calling `handle` again (counted as `duplicates`).
 * A NAS that changes Acct-Delay-Time on retransmission must change the identifier too (RFC 2866
 * section 5.2), so that copy is a new request here; the usage's record id (accounting.ts) is the
 * same, and mediation's deduplication catches it.
 *
 * Ordering. `handle` runs concurrently across sessions but one at a time, in arrival order, within
 * one accounting session (client + NAS + Acct-Session-Id), so a sink computing deltas from the
 * stored counters never races with itself.
 *
 * Logs never include secrets, and drops are logged at most once a minute per reason and address,
 * so a flood of junk cannot flood the log.
 */
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import type { Clock } from '../../kernel/clock.js';
import {
  accountingSessionKey,
  accountingStatus,
  type AccountingRequest,
  type AccountingStatus,
} from './accounting.js';
import { buildAccountingResponse, verifyAccountingRequest } from './authenticator.js';
import { createClientTable, type RadiusClientConfig, type RadiusClientTable } from './clients.js';
import { RadiusAttributeType, RadiusCode, decodePacket, type RadiusPacket } from './codec.js';

export const RADIUS_ACCOUNTING_PORT = 1813;
const DEFAULT_DUPLICATE_WINDOW_MS = 60_000;
const DEFAULT_MAX_CACHED_RESPONSES = 100_000;
const DEFAULT_MAX_IN_FLIGHT = 10_000;
const LOG_INTERVAL_MS = 60_000;

/** What the sink receives for each authenticated Accounting-Request. */
export interface RadiusAccountingEvent extends AccountingRequest {
  readonly sourcePort: number;
  /** The matched client, without its secret. */
  readonly client: { readonly name: string; readonly address: string };
  /** Acct-Status-Type by name, or its number when not one Tollgate knows. */
  readonly status: AccountingStatus | number;
  /** `${nas}:${Acct-Session-Id}` (see `accountingSessionKey`); undefined without a session id. */
  readonly sessionKey: string | undefined;
  /** The packet's octets as received (Length octets, padding excluded): the raw record to keep. */
  readonly raw: Uint8Array;
}

/** The subset of a pino logger the server uses. */
export interface RadiusLogger {
  debug(object: object, message: string): void;
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface RadiusAccountingServerOptions {
  /** Address to bind; 127.0.0.1 by default (open it to the NAS network deliberately). */
  readonly host?: string;
  /** UDP port; 1813 by default, 0 for an ephemeral port (tests). */
  readonly port?: number;
  readonly clients: RadiusClientTable | readonly RadiusClientConfig[];
  /** Stores the request; the response is sent once it resolves, and not at all if it throws. */
  readonly handle: (event: RadiusAccountingEvent) => Promise<void>;
  readonly clock: Clock;
  readonly logger?: RadiusLogger;
  /** How long an answered request's response is kept for retransmissions. Default 60 s. */
  readonly duplicateWindowMs?: number;
  /** Bound on cached responses (oldest evicted first). Default 100 000. */
  readonly maxCachedResponses?: number;
  /** Requests being handled at once; more are dropped (the NAS retransmits). Default 10 000. */
  readonly maxInFlight?: number;
}

export const RADIUS_DROP_REASONS = [
  /** Not a RADIUS packet: bad length, truncated, broken attributes, no usable Acct-Status-Type. */
  'malformed',
  /** A packet code other than Accounting-Request. */
  'unexpected_code',
  /** The source address is in no client entry. */
  'unknown_client',
  /** The Request Authenticator does not verify with the client's secret. */
  'bad_authenticator',
  /** The sink threw: no response, the NAS will retransmit. */
  'handler_failed',
  /** Too many requests in flight. */
  'overloaded',
  /** Received while the server was closing. */
  'closing',
] as const;
export type RadiusDropReason = (typeof RADIUS_DROP_REASONS)[number];

export interface RadiusServerCounters {
  /** Datagrams received. */
  readonly received: number;
  /** Requests handled and answered. */
  readonly accepted: number;
  /** Retransmissions answered from the response cache (the sink not called again). */
  readonly duplicates: number;
  /** Retransmissions dropped because the first copy was still being handled. */
  readonly duplicatesInFlight: number;
  readonly dropped: Readonly<Record<RadiusDropReason, number>>;
}

export interface RadiusAccountingServer {
  /** The bound address and port (the real port when 0 was asked for). */
  readonly address: { readonly host: string; readonly port: number };
  /** A snapshot of the counters, for /metrics. */
  counters(): RadiusServerCounters;
  /** Stops taking datagrams, waits for requests in flight to be handled and answered, then closes. */
  close(): Promise<void>;
}

interface CachedResponse {
  readonly response: Buffer;
  readonly expiresMs: number;
}

/** Binds the socket and starts serving; resolves once listening. */
export async function startRadiusAccountingServer(
  options: RadiusAccountingServerOptions,
): Promise<RadiusAccountingServer> {
  const host = options.host ?? '127.0.0.1';
  const clients = Array.isArray(options.clients)
    ? createClientTable(options.clients as readonly RadiusClientConfig[])
    : (options.clients as RadiusClientTable);
  const { handle, clock, logger } = options;
  const windowMs = options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
  const maxCached = options.maxCachedResponses ?? DEFAULT_MAX_CACHED_RESPONSES;
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;

  const counts = { received: 0, accepted: 0, duplicates: 0, duplicatesInFlight: 0 };
  const dropped = Object.fromEntries(RADIUS_DROP_REASONS.map((reason) => [reason, 0])) as Record<
    RadiusDropReason,
    number
  >;
  // Insertion order is expiry order: every entry lives `windowMs` from when it was answered.
  const answered = new Map<string, CachedResponse>();
  const inFlight = new Set<string>();
  const tasks = new Set<Promise<void>>();
  const sessionChains = new Map<string, Promise<void>>();
  const lastLogged = new Map<string, number>();
  let closing = false;

  const socket: Socket = createSocket({ type: isIPv6(host) ? 'udp6' : 'udp4' });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    socket.once('error', onError);
    socket.bind(options.port ?? RADIUS_ACCOUNTING_PORT, host, () => {
      socket.off('error', onError);
      resolve();
    });
  });
  socket.on('error', (error) => logger?.error({ err: error.message }, 'radius accounting socket error'));
  const bound = socket.address();

  function throttledLog(reason: string, address: string, details: object, message: string): void {
    if (logger === undefined) return;
    const key = `${reason}|${address}`;
    const now = clock.nowMs();
    const last = lastLogged.get(key);
    if (last !== undefined && now - last < LOG_INTERVAL_MS) return;
    if (lastLogged.size >= 10_000) lastLogged.clear();
    lastLogged.set(key, now);
    logger.warn({ reason, source: address, ...details }, message);
  }

  function drop(reason: RadiusDropReason, rinfo: RemoteInfo, details: object = {}): void {
    dropped[reason] += 1;
    if (reason === 'closing' || reason === 'overloaded' || reason === 'handler_failed') return;
    throttledLog(reason, rinfo.address, details, 'radius accounting request dropped');
  }

  // Sends not yet flushed; close() waits for them, or closing the socket would discard them.
  const sending = new Set<Promise<void>>();
  function send(response: Buffer, rinfo: RemoteInfo): void {
    const sent = new Promise<void>((resolve) => {
      try {
        socket.send(response, rinfo.port, rinfo.address, (error) => {
          if (error) logger?.warn({ err: error.message, source: rinfo.address }, 'radius response not sent');
          resolve();
        });
      } catch (error) {
        logger?.warn({ err: (error as Error).message, source: rinfo.address }, 'radius response not sent');
        resolve();
      }
    });
    sending.add(sent);
    void sent.then(() => sending.delete(sent));
  }

  function evictExpired(now: number): void {
    for (const [key, entry] of answered) {
      if (entry.expiresMs > now && answered.size <= maxCached) break;
      answered.delete(key);
    }
  }

  /** Runs `work` after every earlier task of the same session has settled. */
  function inSessionOrder(chainKey: string | undefined, work: () => Promise<void>): Promise<void> {
    if (chainKey === undefined) return Promise.resolve().then(work);
    const prior = sessionChains.get(chainKey) ?? Promise.resolve();
    const run = prior.then(work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    sessionChains.set(chainKey, tail);
    void tail.then(() => {
      if (sessionChains.get(chainKey) === tail) sessionChains.delete(chainKey);
    });
    return run;
  }

  function onMessage(datagram: Buffer, rinfo: RemoteInfo): void {
    counts.received += 1;
    if (closing) return drop('closing', rinfo);
    const decoded = decodePacket(datagram);
    if (!decoded.ok) return drop('malformed', rinfo, { detail: decoded.detail });
    const packet = decoded.packet;
    if (packet.code !== RadiusCode.AccountingRequest)
      return drop('unexpected_code', rinfo, { code: packet.code });
    const client = clients.lookup(rinfo.address);
    if (client === undefined) return drop('unknown_client', rinfo);
    const raw = datagram.subarray(0, decoded.length);
    if (!verifyAccountingRequest(raw, client.secret)) {
      return drop('bad_authenticator', rinfo, { client: client.name, identifier: packet.identifier });
    }
    const status = accountingStatus(packet);
    if (status === undefined) {
      return drop('malformed', rinfo, { client: client.name, detail: 'no 4-octet Acct-Status-Type' });
    }

    const now = clock.nowMs();
    evictExpired(now);
    const key = `${rinfo.address}|${packet.identifier}|${Buffer.from(packet.authenticator).toString('hex')}`;
    const cached = answered.get(key);
    if (cached !== undefined) {
      counts.duplicates += 1;
      send(cached.response, rinfo);
      return;
    }
    if (inFlight.has(key)) {
      counts.duplicatesInFlight += 1;
      return;
    }
    if (inFlight.size >= maxInFlight) return drop('overloaded', rinfo);

    const request: AccountingRequest = { packet, sourceAddress: rinfo.address, receivedMs: now };
    const sessionKey = accountingSessionKey(request);
    const event: RadiusAccountingEvent = {
      ...request,
      sourcePort: rinfo.port,
      client: { name: client.name, address: client.address },
      status,
      sessionKey,
      raw: Uint8Array.from(raw),
    };
    inFlight.add(key);
    const task = inSessionOrder(sessionKey === undefined ? undefined : `${client.name}|${sessionKey}`, () =>
      handle(event),
    ).then(
      () => {
        const response = buildAccountingResponse(packet, proxyStates(packet), client.secret);
        inFlight.delete(key);
        answered.set(key, { response, expiresMs: clock.nowMs() + windowMs });
        counts.accepted += 1;
        send(response, rinfo);
      },
      (error: unknown) => {
        inFlight.delete(key);
        drop('handler_failed', rinfo);
        logger?.error(
          {
            client: client.name,
            source: rinfo.address,
            identifier: packet.identifier,
            sessionKey,
            err: error instanceof Error ? error.message : String(error),
          },
          'radius accounting request not stored; no response sent',
        );
      },
    );
    tasks.add(task);
    void task.finally(() => tasks.delete(task));
  }

  socket.on('message', onMessage);
  logger?.info(
    { host: bound.address, port: bound.port, clients: clients.size },
    'radius accounting server listening',
  );

  let closed: Promise<void> | undefined;
  return {
    address: { host: bound.address, port: bound.port },
    counters: () => ({ ...counts, dropped: { ...dropped } }),
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        while (tasks.size > 0) await Promise.allSettled([...tasks]);
        while (sending.size > 0) await Promise.allSettled([...sending]);
        await new Promise<void>((resolve) => socket.close(() => resolve()));
        logger?.info({ port: bound.port }, 'radius accounting server closed');
      })();
      return closed;
    },
  };
}

/** RFC 2865 section 5.33: Proxy-State attributes go back unmodified and in order. */
function proxyStates(packet: RadiusPacket): RadiusPacket['attributes'] {
  return packet.attributes.filter((attribute) => attribute.type === RadiusAttributeType.ProxyState);
}
