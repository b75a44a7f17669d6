/**
 * The RADIUS accounting sink: what the server's `handle(event)` does with a verified
 * Accounting-Request. It converts the request against the session's stored counters
 * (`accountingToUsage`) and stores the outcome through the session accounting use case
 * (workflows/usage-radius.ts), one transaction per request: the usage slice through mediation and
 * rating together with the session's new counters. See docs/radius.md, "Writing the sink".
 *
 * The promise resolves when the request is accounted for, whatever it became: rated, a reject
 * (unknown subscriber, unreadable attribute...) or a duplicate stored with its raw packet, a
 * session baseline, or nothing at all for a stale report. The server then sends the
 * Accounting-Response. It rejects only when storing failed, so the NAS keeps the record and
 * retransmits it.
 */
import { Buffer } from 'node:buffer';
import type { Caller, WorkflowDeps } from '../../workflows/context.js';
import { sessionAccounting, type SessionReportResult } from '../../workflows/usage-radius.js';
import { accountingToUsage, nasName, type RadiusUsageSettings } from './accounting.js';
import type { RadiusAccountingEvent, RadiusLogger } from './server.js';

/** What the sink did with the requests it was given, for /metrics. */
export interface RadiusSinkCounters {
  /** Slices rated. */
  readonly rated: number;
  /** Requests stored as rejects (by the conversion or by mediation and rating). */
  readonly rejected: number;
  /** Slices mediation found already accounted for (retransmitted reports). */
  readonly duplicates: number;
  /** Starts stored as a session's baseline. */
  readonly sessionStarts: number;
  /** Reports older than the stored one: answered, nothing stored. */
  readonly stale: number;
  /** Accounting-On / Accounting-Off requests. */
  readonly nasRestarts: number;
}

export interface RadiusSink {
  /** The server's `handle`. */
  handle(event: RadiusAccountingEvent): Promise<void>;
  counters(): RadiusSinkCounters;
}

export interface RadiusSinkOptions {
  readonly logger?: RadiusLogger;
}

/**
 * The sink of one usage source (format 'radius') of the caller's tenant. Fails now when the
 * source does not exist or has another format.
 */
export async function radiusSink(
  deps: WorkflowDeps,
  caller: Caller,
  sourceName: string,
  settings: RadiusUsageSettings,
  options: RadiusSinkOptions = {},
): Promise<RadiusSink> {
  const accounting = await sessionAccounting(deps, caller, sourceName);
  const logger = options.logger;
  const counts = { rated: 0, rejected: 0, duplicates: 0, sessionStarts: 0, stale: 0, nasRestarts: 0 };

  function note(event: RadiusAccountingEvent, result: SessionReportResult): void {
    const context = { client: event.client.name, sessionKey: event.sessionKey, status: event.status };
    switch (result.kind) {
      case 'rated':
        counts.rated += 1;
        break;
      case 'reject':
        counts.rejected += 1;
        if (result.item.kind !== 'rated') {
          logger?.debug(
            { ...context, reason: result.item.reason, rejectId: String(result.item.rejectId) },
            'radius accounting request stored as a reject',
          );
        }
        break;
      case 'duplicate':
        counts.duplicates += 1;
        break;
      case 'session-start':
        counts.sessionStarts += 1;
        break;
      case 'stale':
        counts.stale += 1;
        logger?.debug({ ...context, detail: result.message }, 'radius accounting report is stale');
        break;
      case 'nas-restart':
        counts.nasRestarts += 1;
        logger?.info(
          { ...context, nas: nasName(event), sessionsStopped: result.sessionsStopped },
          'radius NAS restarted: its open sessions are closed',
        );
        break;
    }
  }

  return {
    async handle(event: RadiusAccountingEvent): Promise<void> {
      const result = await accounting.record({
        sessionKey: event.sessionKey,
        nas: nasName(event),
        rawHex: Buffer.from(event.raw).toString('hex'),
        convert: (previous) => accountingToUsage(event, settings, previous),
      });
      note(event, result);
    },
    counters: () => ({ ...counts }),
  };
}
