/**
 * Starting the Nchf converged charging server of `tollgate serve`: the protocol face over the
 * process's charging engine, with callers authenticated by API key (Authorization: Bearer) and
 * authorised by role (network-element, or admin).
 */
import type { App } from '../app/container.js';
import { hasAnyRole, type Principal } from '../access/index.js';
import { authenticateApiKey } from '../workflows/api-keys.js';
import { engineChargingHandler } from '../protocols/nchf/charging.js';
import { startNchfServer, type NchfServer } from '../protocols/nchf/index.js';
import { createChargingNotifier } from '../protocols/nchf/notify.js';

export async function startNchf(app: App): Promise<NchfServer> {
  const deps = { database: app.database, clock: app.clock };
  const logger = app.logger.child({ component: 'nchf' });
  // A credit for an account whose sessions ran out: REAUTHORIZATION to each Nchf session's
  // notifyUri, so the SMF asks for quota again now rather than at its next trigger.
  const notifier = createChargingNotifier({ logger });
  const unsubscribe = app.charging.onStarvedSessionsCredited((event) => {
    for (const session of event.sessions) {
      if (session.protocol !== 'nchf' || session.notifyUri === undefined) continue;
      void notifier.reauthorize(session.notifyUri, session.ratingGroups).then((outcome) => {
        if (!outcome.delivered) {
          logger.warn(
            { session: session.sessionId, reason: outcome.reason, status: outcome.status },
            'nchf re-authorisation not delivered',
          );
        }
      });
    }
  });
  const server = await startNchfServer<Principal>({
    host: app.config.nchfHost,
    port: app.config.nchfPort,
    handler: engineChargingHandler(app.charging),
    clock: app.clock,
    logger,
    authorise: async (header) => {
      const match = header === undefined ? null : /^Bearer\s+(\S+)$/i.exec(header);
      if (match === null) return undefined;
      try {
        // Verified keys are cached by their digest (workflows/api-keys.ts), so the hot path does
        // not query the database for every request.
        const principal = await authenticateApiKey(deps, match[1] as string);
        return hasAnyRole(principal, ['network-element']) ? principal : undefined;
      } catch {
        return undefined;
      }
    },
  });
  return {
    address: server.address,
    counters: () => server.counters(),
    close: async () => {
      unsubscribe();
      await server.close();
      await notifier.close();
    },
  };
}
