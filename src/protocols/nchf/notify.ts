/**
 * The CHF's side of the Nchf_ConvergedCharging notification (TS 32.291 clause 6.1.5.2, the
 * `myNotification` callback): a ChargingNotifyRequest POSTed to the `notifyUri` a consumer gave
 * when it created the charging session. Tollgate sends REAUTHORIZATION when a balance that ran out
 * is topped up, so the SMF asks for quota again without waiting for its next trigger, and
 * ABORT_CHARGING when a session must end.
 *
 * Transport: HTTP/2 with prior knowledge for `http://` URIs (h2c) and HTTP/2 over TLS for
 * `https://`, because TS 29.500 makes HTTP/2 the protocol of every service-based interface and
 * an SMF's notification endpoint is one. A consumer that only speaks HTTP/1.1 is not reached.
 * Connections are kept per origin and reused, since a top-up wave notifies many sessions of the
 * same few SMFs.
 *
 * Delivery: each attempt has a deadline (`timeoutMs`); a failed attempt is retried once after
 * `retryDelayMs` when the failure may be passing (no connection, timeout, a 5xx status), never after
 * a 4xx, which says the consumer refused this notification (404: it no longer has the session).
 * A retry after a timeout can deliver the notification twice; both notification types are safe to
 * receive twice (a second REAUTHORIZATION asks for quota that was just asked for, a second
 * ABORT_CHARGING finds the session gone). Redirects (307/308, TS 29.500 clause 6.10.9) are not
 * followed. The outcome is a value, never an exception.
 */
import {
  connect,
  constants as http2Constants,
  type ClientHttp2Session,
  type ClientHttp2Stream,
  type OutgoingHttpHeaders,
} from 'node:http2';
import type { ChargingNotifyRequest } from './model.js';
import type { NchfLogger } from './server.js';

export interface ChargingNotifierOptions {
  /** Deadline of one attempt, connection included. Default 2 s. */
  readonly timeoutMs?: number;
  /** Pause before the one retry. Default 200 ms. */
  readonly retryDelayMs?: number;
  /** A bearer token for the consumer, when it asks for one (OAuth 2.0, TS 33.501 clause 13.4.1). */
  readonly token?: () => string | undefined;
  readonly logger?: NchfLogger;
}

export type NotifyFailure =
  /** notifyUri is not an absolute http:// or https:// URI. */
  | 'invalid_uri'
  /** No connection could be made, or it was lost before the answer. */
  | 'unreachable'
  /** No answer within the deadline. */
  | 'timeout'
  /** The consumer answered with a status other than 200 or 204. */
  | 'refused';

export type NotifyOutcome =
  | { readonly delivered: true; readonly status: number; readonly attempts: number }
  | {
      readonly delivered: false;
      readonly reason: NotifyFailure;
      /** The consumer's last status, when it answered. */
      readonly status?: number;
      readonly attempts: number;
      readonly detail: string;
    };

export interface ChargingNotifier {
  /** POSTs `request` to `notifyUri` (one retry when the failure may pass). */
  notify(notifyUri: string, request: ChargingNotifyRequest): Promise<NotifyOutcome>;
  /** A REAUTHORIZATION for the given rating groups (all of the session's when none are given). */
  reauthorize(notifyUri: string, ratingGroups?: readonly number[]): Promise<NotifyOutcome>;
  /** Closes the kept connections once their streams are done. */
  close(): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 2_000;
const DEFAULT_RETRY_DELAY_MS = 200;

/** The ChargingNotifyRequest asking the consumer to request quota again. */
export function reauthorizationRequest(ratingGroups: readonly number[] = []): ChargingNotifyRequest {
  return ratingGroups.length === 0
    ? { notificationType: 'REAUTHORIZATION' }
    : {
        notificationType: 'REAUTHORIZATION',
        reauthorizationDetails: ratingGroups.map((ratingGroup) => ({ ratingGroup })),
      };
}

/** 204 is the answer TS 32.291 gives the callback; 200 carries a ChargingNotifyResponse. */
function isDelivered(attempt: Attempt): boolean {
  return attempt.status === 204 || attempt.status === 200;
}

/** No connection, no answer in time, or a 5xx: worth one more try. A 4xx is the consumer's word. */
function mayPass(attempt: Attempt): boolean {
  return attempt.failure !== undefined || (attempt.status !== undefined && attempt.status >= 500);
}

interface Attempt {
  readonly status?: number;
  readonly failure?: Exclude<NotifyFailure, 'invalid_uri' | 'refused'>;
  readonly detail: string;
}

export function createChargingNotifier(options: ChargingNotifierOptions = {}): ChargingNotifier {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const retryDelayMs = options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
  const sessions = new Map<string, ClientHttp2Session>();
  let closed = false;

  function sessionFor(origin: string): ClientHttp2Session {
    const kept = sessions.get(origin);
    if (kept !== undefined && !kept.closed && !kept.destroyed) return kept;
    const session = connect(origin);
    // Failures reach the stream in flight; the session's own error event must not crash anything.
    session.on('error', () => undefined);
    session.once('close', () => {
      if (sessions.get(origin) === session) sessions.delete(origin);
    });
    session.once('goaway', () => {
      if (sessions.get(origin) === session) sessions.delete(origin);
    });
    // A kept connection must not hold the process open on its own.
    session.unref();
    sessions.set(origin, session);
    return session;
  }

  function attempt(url: URL, payload: string): Promise<Attempt> {
    return new Promise<Attempt>((resolve) => {
      let settled = false;
      // Called only from the timer and the stream's events, all set up after `timer` exists.
      const finish = (result: Attempt): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(result);
      };
      const session = sessionFor(url.origin);
      const headers: OutgoingHttpHeaders = {
        ':method': 'POST',
        ':path': `${url.pathname}${url.search}`,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(payload),
      };
      const token = options.token?.();
      if (token !== undefined) headers.authorization = `Bearer ${token}`;
      let stream: ClientHttp2Stream;
      try {
        stream = session.request(headers);
      } catch (error) {
        resolve({ failure: 'unreachable', detail: (error as Error).message });
        return;
      }
      const timer = setTimeout(() => {
        // A connection that is still being made after the deadline is abandoned, so the retry
        // dials again instead of queueing behind it.
        if (session.connecting) session.destroy();
        else stream.close(http2Constants.NGHTTP2_CANCEL);
        finish({ failure: 'timeout', detail: `no answer within ${timeoutMs} ms` });
      }, timeoutMs);
      stream.on('response', (received) => {
        const status = Number(received[':status']);
        // The body (a ChargingNotifyResponse at most) is not needed; drain it so the stream ends.
        stream.resume();
        finish({ status, detail: `answered ${status}` });
      });
      stream.on('error', (error: Error) => finish({ failure: 'unreachable', detail: error.message }));
      stream.on('close', () =>
        finish({ failure: 'unreachable', detail: 'the stream closed without an answer' }),
      );
      stream.end(payload);
    });
  }

  async function notify(notifyUri: string, request: ChargingNotifyRequest): Promise<NotifyOutcome> {
    let url: URL;
    try {
      url = new URL(notifyUri);
    } catch {
      return { delivered: false, reason: 'invalid_uri', attempts: 0, detail: 'notifyUri is not a URI' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return {
        delivered: false,
        reason: 'invalid_uri',
        attempts: 0,
        detail: `${url.protocol} is not http or https`,
      };
    }
    if (closed)
      return { delivered: false, reason: 'unreachable', attempts: 0, detail: 'the notifier is closed' };
    const payload = JSON.stringify(request);
    let attempts = 1;
    let last = await attempt(url, payload);
    if (!isDelivered(last) && mayPass(last)) {
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
      attempts = 2;
      last = await attempt(url, payload);
    }
    if (isDelivered(last)) return { delivered: true, status: last.status!, attempts };
    options.logger?.warn(
      {
        origin: url.origin,
        notificationType: request.notificationType,
        status: last.status,
        detail: last.detail,
      },
      'nchf charging notification not delivered',
    );
    return last.failure !== undefined
      ? { delivered: false, reason: last.failure, attempts, detail: last.detail }
      : { delivered: false, reason: 'refused', status: last.status, attempts, detail: last.detail };
  }

  return {
    notify,
    reauthorize: (notifyUri, ratingGroups) => notify(notifyUri, reauthorizationRequest(ratingGroups)),
    async close(): Promise<void> {
      closed = true;
      const open = [...sessions.values()];
      sessions.clear();
      await Promise.all(
        open.map((session) =>
          session.closed || session.destroyed
            ? Promise.resolve()
            : new Promise<void>((resolve) => session.close(() => resolve())),
        ),
      );
    },
  };
}
