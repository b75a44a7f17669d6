/**
 * `tollgate serve`: migrate, optionally seed the demo, start the API, the webhook dispatcher and,
 * when enabled, the Nchf, RADIUS accounting and Diameter Gy/Ro servers, and shut down gracefully on SIGINT/SIGTERM (stop
 * accepting, finish requests in flight, stop the dispatcher after its current sends, close the
 * database).
 */
import { demoUsageDirectory, readDemoKey, saveDemoKey } from './demo-key.js';
import type { Config } from '../kernel/config.js';
import { openApp } from '../app/container.js';
import { buildServer } from '../api/server.js';
import { seedDemoIfEmpty } from '../workflows/demo.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { startBackgroundJobs } from '../workflows/background.js';
import type { Output } from './output.js';
import type { Registry } from 'prom-client';
import type { App } from '../app/container.js';
import { CommonErrors, fail } from '../kernel/errors.js';
import { findTenant } from '../workflows/tenants.js';
import { registerRadiusMetrics } from '../api/metrics.js';
import { startRadiusAccountingServer, type RadiusAccountingServer } from '../protocols/radius/server.js';
import { radiusSink } from '../protocols/radius/sink.js';
import { startNchf } from './nchf.js';
import type { NchfServer } from '../protocols/nchf/index.js';
import {
  gyCreditControlHandler,
  gyReAuthorizer,
  startDiameterServer,
  type DiameterServer,
} from '../protocols/diameter/index.js';

/**
 * Starts the RADIUS accounting server of the configuration, recording into its usage source.
 * Fails (and the process does not start) when the tenant or source does not exist, the source is
 * not of format radius, or the port cannot be bound.
 */
async function startRadius(app: App, registry: Registry): Promise<RadiusAccountingServer> {
  const config = app.config;
  const tenant = await findTenant(app, config.radiusTenant ?? '');
  if (tenant === undefined) {
    throw fail(CommonErrors.invalid_config, `TOLLGATE_RADIUS_TENANT: no tenant ${config.radiusTenant}`, {
      field: 'TOLLGATE_RADIUS_TENANT',
    });
  }
  const logger = app.logger.child({ component: 'radius' });
  const sink = await radiusSink(
    app,
    { tenantId: tenant.id, actor: { type: 'system', id: 'radius' } },
    config.radiusSource ?? '',
    {
      identityAttribute: config.radiusIdentityAttribute,
      apnFromCalledStationId: config.radiusApnFromCalledStationId,
    },
    { logger },
  );
  const server = await startRadiusAccountingServer({
    host: config.radiusHost,
    port: config.radiusPort,
    clients: config.radiusClients,
    handle: (event) => sink.handle(event),
    clock: app.clock,
    logger,
  });
  registerRadiusMetrics(registry, { server: () => server.counters(), sink: () => ({ ...sink.counters() }) });
  return server;
}

/**
 * Starts the Diameter Gy/Ro server of the configuration over the process's charging engine,
 * charging the subscribers of TOLLGATE_DIAMETER_TENANT, and re-authorising (RAR) its sessions
 * that ran out when a credit reaches their account. Fails (and the process does not start) when
 * the tenant does not exist or the port cannot be bound.
 */
async function startDiameter(app: App): Promise<DiameterServer> {
  const config = app.config;
  const tenant = await findTenant(app, config.diameterTenant ?? '');
  if (tenant === undefined) {
    throw fail(CommonErrors.invalid_config, `TOLLGATE_DIAMETER_TENANT: no tenant ${config.diameterTenant}`, {
      field: 'TOLLGATE_DIAMETER_TENANT',
    });
  }
  const logger = app.logger.child({ component: 'diameter' });
  const server = await startDiameterServer({
    host: config.diameterHost,
    port: config.diameterPort,
    originHost: config.diameterOriginHost,
    originRealm: config.diameterOriginRealm,
    creditControl: gyCreditControlHandler({ engine: app.charging, tenantId: tenant.id, clock: app.clock }),
    clock: app.clock,
    logger,
  });
  // A credit for an account whose sessions ran out: a RAR to each Diameter session's client, so
  // it asks for quota again now rather than at its next trigger.
  const reAuthorizer = gyReAuthorizer({ server, tenantId: tenant.id, logger });
  const unsubscribe = app.charging.onStarvedSessionsCredited((event) =>
    reAuthorizer.starvedSessionsCredited(event),
  );
  return {
    ...server,
    close: async () => {
      unsubscribe();
      reAuthorizer.close();
      await server.close();
    },
  };
}

export async function serve(config: Config, out: Output): Promise<void> {
  const app = await openApp(config);
  let demoKey: string | undefined;
  if (config.demo) {
    const seed = await seedDemoIfEmpty(app, loadDemoFiles(), { usageDirectory: demoUsageDirectory(config) });
    if (seed) {
      saveDemoKey(config, seed.adminKey);
      demoKey = seed.adminKey;
      out.info(
        `Seeded the demo: tenants "demo" and "demo-brand", ${seed.keys.length} API keys, ${seed.offers} offers, ` +
          `${seed.customers.subscriptions} subscriptions from ${seed.customers.rows} customer rows.`,
      );
      if (seed.usage) {
        out.info(
          `Imported a day of demo usage (${seed.usage.day}): ${seed.usage.recordsIn} records from ${seed.usage.sources.length} sources = ` +
            `${seed.usage.rated} rated + ${seed.usage.rejected} rejected + ${seed.usage.duplicates} duplicates ` +
            `(see: npx tollgate usage controls --tenant demo).`,
        );
      }
      if (seed.charging) {
        out.info(
          `Opened ${seed.charging.balances} prepaid balances for ${seed.charging.subscriptions} prepaid subscribers ` +
            `(see: npx tollgate balances list --tenant demo).`,
        );
      }
    } else {
      demoKey = readDemoKey(config);
    }
  }
  const server = await buildServer(app);
  const jobs = startBackgroundJobs(app);
  const address = await server.listen({ host: config.host, port: config.port });
  const base = address.replace('[::1]', 'localhost');
  let nchf: NchfServer | undefined;
  if (config.nchfEnabled) {
    try {
      nchf = await startNchf(app);
    } catch (error) {
      await server.close();
      await jobs.stop();
      await app.close();
      throw error;
    }
  }
  let radius: RadiusAccountingServer | undefined;
  if (config.radiusEnabled) {
    try {
      radius = await startRadius(app, server.metricsRegistry);
    } catch (error) {
      await server.close();
      await jobs.stop();
      await app.close();
      throw error;
    }
  }
  let diameter: DiameterServer | undefined;
  if (config.diameterEnabled) {
    try {
      diameter = await startDiameter(app);
    } catch (error) {
      await radius?.close();
      await nchf?.close();
      await server.close();
      await jobs.stop();
      await app.close();
      throw error;
    }
  }

  const lines = [
    '',
    `Tollgate is running on ${app.database.description}`,
    `  API        ${base}/v1`,
    `  Docs       ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
    `  Health     ${base}/healthz  ${base}/readyz`,
  ];
  if (nchf) {
    const { host, port } = nchf.address;
    lines.push(
      `  Nchf       http://${host.includes(':') ? `[${host}]` : host}:${port}/nchf-convergedcharging/v3/chargingdata (HTTP/2 cleartext and HTTP/1.1)`,
    );
  }
  if (radius) {
    const { host, port } = radius.address;
    lines.push(
      `  RADIUS     accounting on udp ${host.includes(':') ? `[${host}]` : host}:${port} → source ${config.radiusSource} of tenant ${config.radiusTenant} (${config.radiusClients.length} client entries)`,
    );
  }
  if (diameter) {
    const { host, port } = diameter.address;
    lines.push(
      `  Diameter   Gy/Ro on tcp ${host.includes(':') ? `[${host}]` : host}:${port} as ${config.diameterOriginHost} (realm ${config.diameterOriginRealm}) → tenant ${config.diameterTenant}`,
    );
  }
  if (demoKey) {
    lines.push(
      `  Demo admin key (tenant "demo"): ${demoKey}`,
      `  Try:  curl -H "Authorization: Bearer ${demoKey}" ${base}/v1/tenant`,
    );
  }
  lines.push('Press Ctrl+C to stop.', '');
  out.info(lines.join('\n'));

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      app.logger.error('shutdown grace period over; exiting with requests still open');
      process.exit(1);
    }, config.shutdownGraceMs);
    timer.unref();
    try {
      // Diameter first (DPR to its peers, answers in flight sent), then RADIUS: requests finish
      // and are answered while the engine and the database are open.
      await diameter?.close();
      await radius?.close();
      await nchf?.close();
      await server.close();
      await jobs.stop();
      await app.close();
      app.logger.info('stopped');
    } finally {
      clearTimeout(timer);
    }
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
