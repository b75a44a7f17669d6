/**
 * Re-authorisation of starved Gy/Ro sessions: when a credit (top-up, voucher, positive adjustment,
 * allowance grant) reaches an account whose open sessions ran out, the charging engine says so
 * (`ChargingEngine.onStarvedSessionsCredited`), and this sends each Diameter session's client a
 * Re-Auth-Request (RFC 6733 section 8.3, RFC 4006 section 5.5), so it asks for quota now rather
 * than at its next trigger or never.
 *
 * - One RAR per session, Re-Auth-Request-Type AUTHORIZE_ONLY. RFC 4006 section 10.2 allows at most
 *   one Rating-Group in a RAR: a session starved in one rating group gets a RAR naming it, one
 *   starved in several a RAR without Rating-Group (re-authorise the whole session).
 * - The RAR goes where the session's CCRs came from (`DiameterServer.reAuthorizeSession`); a
 *   session the server has no route for (another node's, or from before a restart) is skipped.
 * - The answer is only logged: 2001/2002 at debug; 5002 DIAMETER_UNKNOWN_SESSION_ID (the client
 *   has let the session go) at info; other codes, no answer within the server's
 *   `requestTimeoutMs`, or no connection to the peer, at warn. Nothing is retried: the session's
 *   next CCR asks for quota anyway.
 * - It never throws into the engine and never waits: the listener starts the RARs and returns. A
 *   RAR for the same session and rating group still awaiting its answer is not sent again.
 */
import type { StarvedSessions } from '../../workflows/charging.js';
import { isTollgateError } from '../../kernel/errors.js';
import type { DiameterLogger } from './connection.js';
import type { ReAuthAnswer } from './credit-control.js';
import { ResultCode } from './result-codes.js';
import type { DiameterServer } from './server.js';

export interface GyReAuthorizerOptions {
  readonly server: Pick<DiameterServer, 'reAuthorizeSession'>;
  /** The tenant the Diameter server charges; events of other tenants are not its sessions. */
  readonly tenantId: string;
  readonly logger?: DiameterLogger;
}

export interface GyReAuthorizer {
  /** The engine listener: `engine.onStarvedSessionsCredited((e) => reAuthorizer.starvedSessionsCredited(e))`. */
  starvedSessionsCredited(event: StarvedSessions): void;
  /** Resolves once the RARs sent so far are answered or have failed (tests, shutdown). */
  settled(): Promise<void>;
  /** Stops sending; RARs still in flight end quietly (their failures are logged at debug). */
  close(): void;
}

export function gyReAuthorizer(options: GyReAuthorizerOptions): GyReAuthorizer {
  const { server, tenantId, logger } = options;
  const inFlight = new Map<string, Promise<void>>();
  let closed = false;

  async function reAuthorize(sessionId: string, ratingGroup: number | undefined): Promise<void> {
    const context = { session: sessionId, ...(ratingGroup === undefined ? {} : { ratingGroup }) };
    let answer: ReAuthAnswer | undefined;
    try {
      answer = await server.reAuthorizeSession(sessionId, ratingGroup === undefined ? {} : { ratingGroup });
    } catch (error) {
      const reason = isTollgateError(error) ? error.code : 'error';
      const text = error instanceof Error ? error.message : String(error);
      if (closed)
        logger?.debug({ ...context, reason, err: text }, 'diameter re-authorisation ended by shutdown');
      else logger?.warn({ ...context, reason, err: text }, 'diameter re-authorisation not answered');
      return;
    }
    if (answer === undefined) {
      logger?.debug(context, 'diameter re-authorisation skipped: no route known for the session');
      return;
    }
    switch (answer.resultCode) {
      case ResultCode.DIAMETER_SUCCESS:
      case ResultCode.DIAMETER_LIMITED_SUCCESS:
        logger?.debug({ ...context, resultCode: answer.resultCode }, 'diameter re-authorisation accepted');
        return;
      case ResultCode.DIAMETER_UNKNOWN_SESSION_ID:
        logger?.info(
          { ...context, resultCode: answer.resultCode },
          'diameter re-authorisation: the client no longer has the session',
        );
        return;
      default:
        logger?.warn(
          {
            ...context,
            resultCode: answer.resultCode,
            ...(answer.errorMessage === undefined ? {} : { errorMessage: answer.errorMessage }),
          },
          'diameter re-authorisation refused by the client',
        );
    }
  }

  return {
    starvedSessionsCredited(event) {
      if (closed || event.tenantId !== tenantId) return;
      for (const session of event.sessions) {
        if (session.protocol !== 'diameter' || session.ratingGroups.length === 0) continue;
        const ratingGroup = session.ratingGroups.length === 1 ? session.ratingGroups[0] : undefined;
        const key = `${session.sessionId}\n${ratingGroup ?? '*'}`;
        if (inFlight.has(key)) continue;
        const task = reAuthorize(session.sessionId, ratingGroup).finally(() => inFlight.delete(key));
        inFlight.set(key, task);
      }
    },
    async settled() {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight.values()]);
    },
    close() {
      closed = true;
    },
  };
}
