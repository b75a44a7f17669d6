/**
 * Prometheus metrics: request counts and latencies per route, the process's own, and the RADIUS
 * accounting server's counters when it runs in the same process.
 */
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** The registry /metrics serves, for other parts of the process to add their metrics to. */
    metricsRegistry: Registry;
  }
}

export function installMetrics(server: FastifyInstance): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tollgate_' });
  const requests = new Counter({
    name: 'tollgate_http_requests_total',
    help: 'HTTP requests by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'tollgate_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  server.addHook('onResponse', async (request, reply) => {
    // The route pattern, not the raw URL, keeps the label set small; unknown routes share one label.
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    duration.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  server.decorate('metricsRegistry', registry);
  return registry;
}

/** Counters of the RADIUS accounting server and its sink, as snapshots (see docs/radius.md). */
export interface RadiusMetricsSource {
  server(): {
    readonly received: number;
    readonly accepted: number;
    readonly duplicates: number;
    readonly duplicatesInFlight: number;
    readonly dropped: Readonly<Record<string, number>>;
  };
  sink(): Readonly<Record<string, number>>;
}

/**
 * Adds the RADIUS counters to `registry`; each scrape reads the snapshots. They are counters
 * (they only grow while the process lives), set from the snapshot at collection.
 */
export function registerRadiusMetrics(registry: Registry, source: RadiusMetricsSource): void {
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => Array<[Partial<Record<L, string>>, number]>,
  ): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers: [registry],
      collect() {
        this.reset();
        for (const [labels, value] of read()) this.inc(labels, value);
      },
    });
  };
  counter('tollgate_radius_received_total', 'RADIUS datagrams received', [], () => [
    [{}, source.server().received],
  ]);
  counter('tollgate_radius_accepted_total', 'RADIUS Accounting-Requests stored and answered', [], () => [
    [{}, source.server().accepted],
  ]);
  counter(
    'tollgate_radius_duplicates_total',
    'RADIUS retransmissions answered from the cache (cached) or dropped while the first copy was handled (in_flight)',
    ['state'] as const,
    () => [
      [{ state: 'cached' }, source.server().duplicates],
      [{ state: 'in_flight' }, source.server().duplicatesInFlight],
    ],
  );
  counter('tollgate_radius_dropped_total', 'RADIUS datagrams dropped, by reason', ['reason'] as const, () =>
    Object.entries(source.server().dropped).map(([reason, n]) => [{ reason }, n]),
  );
  counter(
    'tollgate_radius_records_total',
    'RADIUS accounting requests by outcome: rated, rejected, duplicates, sessionStarts, stale, nasRestarts',
    ['outcome'] as const,
    () => Object.entries(source.sink()).map(([outcome, n]) => [{ outcome }, n]),
  );
}
