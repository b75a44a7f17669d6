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

export async function startNchf(app: App): Promise<NchfServer> {
  const deps = { database: app.database, clock: app.clock };
  const logger = app.logger.child({ component: 'nchf' });
  return startNchfServer<Principal>({
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
}
