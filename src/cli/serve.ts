/**
 * `tollgate serve`: migrate, optionally seed the demo, start the API and the webhook dispatcher,
 * and shut down gracefully on SIGINT/SIGTERM (stop accepting, finish requests in flight, stop the
 * dispatcher after its current sends, close the database).
 */
import { readDemoKey, saveDemoKey } from './demo-key.js';
import type { Config } from '../kernel/config.js';
import { openApp } from '../app/container.js';
import { buildServer } from '../api/server.js';
import { seedDemoIfEmpty } from '../workflows/demo.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { startBackgroundJobs } from '../workflows/background.js';
import type { Output } from './output.js';

export async function serve(config: Config, out: Output): Promise<void> {
  const app = await openApp(config);
  let demoKey: string | undefined;
  if (config.demo) {
    const seed = await seedDemoIfEmpty(app, loadDemoFiles());
    if (seed) {
      saveDemoKey(config, seed.adminKey);
      demoKey = seed.adminKey;
      out.info(
        `Seeded the demo: tenants "demo" and "demo-brand", ${seed.keys.length} API keys, ${seed.offers} offers, ` +
          `${seed.customers.subscriptions} subscriptions from ${seed.customers.rows} customer rows.`,
      );
    } else {
      demoKey = readDemoKey(config);
    }
  }
  const server = await buildServer(app);
  const jobs = startBackgroundJobs(app);
  const address = await server.listen({ host: config.host, port: config.port });
  const base = address.replace('[::1]', 'localhost');

  const lines = [
    '',
    `Tollgate is running on ${app.database.description}`,
    `  API        ${base}/v1`,
    `  Docs       ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
    `  Health     ${base}/healthz  ${base}/readyz`,
  ];
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
