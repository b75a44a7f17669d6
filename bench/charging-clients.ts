/**
 * What the charging benchmark's load generator costs: `node --import tsx bench/charging-clients.ts`.
 *
 * The generator shares the machine's two cores with the server, so its CPU per request is taken
 * from the server. This measures it apart from the server's speed: a child process serves Nchf
 * over a FakeChargingCore (no database) and Diameter Gy over a stub that grants at once, and this
 * process drives BENCH_SESSIONS (5 000) sessions of three requests, BENCH_CONCURRENCY (256) at a
 * time over BENCH_CONNECTIONS (4) connections, with each client of bench/charging.ts:
 *   - Nchf with node:http2's client, and with ./h2-client.ts;
 *   - Diameter with the project's codec per message, and with ./gy-client.ts's templates;
 * after a warm-up of 1 000 sessions each. It prints the CPU (user + system) of this process per
 * request, which is far steadier than throughput on a shared machine.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FakeClock } from '../src/kernel/clock.js';
import { FakeChargingCore } from '../src/protocols/nchf/fake-core.js';
import { startNchfServer } from '../src/protocols/nchf/server.js';
import { startDiameterServer } from '../src/protocols/diameter/server.js';
import { GyConnection, type GyEncoding } from './gy-client.js';
import { leanPoster, nodePoster, type Poster } from './posters.js';

const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 256);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const SUBSCRIBERS = 1_000;
const TOKEN = 'bench-token';
const BASE = '/nchf-convergedcharging/v3/chargingdata';
const NF =
  '{"nodeFunctionality":"SMF","nFName":"5b0ae9b6-3c1e-4f55-9d3a-8f0a7c6e2d41","nFIPv4Address":"10.0.0.1"}';

const msisdn = (i: number): string => `4915140${String(i).padStart(6, '0')}`;
const body = (subscriber: string, sequence: number, units: string): string =>
  `{"subscriberIdentifier":"msisdn-${subscriber}","nfConsumerIdentification":${NF},"invocationTimeStamp":"${new Date().toISOString()}","invocationSequenceNumber":${sequence},"multipleUnitUsage":[{"ratingGroup":10${units}}]}`;
const container = (bytes: number): string =>
  `,"usedUnitContainer":[{"quotaManagementIndicator":"ONLINE_CHARGING","totalVolume":${bytes},"localSequenceNumber":1}]`;

/** The child: the two servers, their ports on stdout as one JSON line. */
async function serve(): Promise<void> {
  const core = new FakeChargingCore<string>(5_000_000, false);
  for (let i = 0; i < SUBSCRIBERS; i++) core.setBalance(`msisdn-${msisdn(i)}`, Number.MAX_SAFE_INTEGER);
  const clock = new FakeClock('2026-03-01T10:00:00Z');
  const nchf = await startNchfServer<string>({
    port: 0,
    handler: core,
    authorise: (header) => (header === `Bearer ${TOKEN}` ? 'smf' : undefined),
    clock,
  });
  const diameter = await startDiameterServer({
    port: 0,
    originHost: 'ocs.bench.test',
    originRealm: 'bench.test',
    clock,
    creditControl: {
      creditControl: async (request) => ({
        resultCode: 2001,
        services: request.services.map((service) => ({
          ratingGroup: service.ratingGroup ?? 0,
          resultCode: 2001,
          ...(service.requested === undefined ? {} : { granted: { totalOctets: 5_000_000n } }),
        })),
      }),
    },
  });
  console.log(JSON.stringify({ nchf: nchf.address.port, diameter: diameter.address.port }));
}

/** Runs `sessions` sessions CONCURRENCY at a time; returns errors and this process's CPU per request. */
async function measure(
  sessions: number,
  runSession: (n: number, worker: number) => Promise<number>,
): Promise<{ micros: number; rate: number; errors: number }> {
  let next = 0;
  let errors = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async (_, w) => {
      for (let n = next++; n < sessions; n = next++) errors += await runSession(n, w);
    }),
  );
  const used = process.cpuUsage(cpu);
  const seconds = (performance.now() - started) / 1000;
  return { micros: (used.user + used.system) / (3 * sessions), rate: (3 * sessions) / seconds, errors };
}

async function nchf(port: number, client: 'node' | 'lean'): Promise<void> {
  const posters: Poster[] = await Promise.all(
    Array.from({ length: CONNECTIONS }, () =>
      client === 'node' ? nodePoster(port, TOKEN) : leanPoster(port, TOKEN),
    ),
  );
  const session = async (n: number, w: number): Promise<number> => {
    const poster = posters[w % CONNECTIONS]!;
    const subscriber = msisdn(n % SUBSCRIBERS);
    const created = await poster.post(BASE, body(subscriber, 0, ',"requestedUnit":{}'));
    const ref = created.location?.slice(created.location.lastIndexOf('/') + 1);
    if (created.status !== 201 || ref === undefined) return 1;
    const updated = await poster.post(
      `${BASE}/${ref}/update`,
      body(subscriber, 1, `,"requestedUnit":{}${container(3_000_000)}`),
    );
    const released = await poster.post(`${BASE}/${ref}/release`, body(subscriber, 2, container(1_250_000)));
    return (updated.status === 200 ? 0 : 1) + (released.status === 204 ? 0 : 1);
  };
  await measure(1_000, session);
  const result = await measure(SESSIONS, session);
  await Promise.all(posters.map((poster) => poster.close()));
  console.log(
    `Nchf, ${client === 'node' ? 'node:http2 client' : 'bench/h2-client.ts'}: ${result.micros.toFixed(1)} µs CPU/request ` +
      `(${Math.round(result.rate)} requests/s, ${result.errors} errors)`,
  );
}

async function diameter(port: number, encoding: GyEncoding): Promise<void> {
  const connections = await Promise.all(
    Array.from({ length: CONNECTIONS }, (_, i) =>
      GyConnection.connect({
        port,
        originHost: `pgw${i}.bench.test`,
        originRealm: 'operator.test',
        encoding,
      }),
    ),
  );
  let base = 0;
  const session = async (n: number, w: number): Promise<number> => {
    const connection = connections[w % CONNECTIONS]!;
    const ids = { session: base + n, msisdn: msisdn(n % SUBSCRIBERS) };
    const results = [
      await connection.creditControl({ ...ids, type: 'INITIAL', requestNumber: 0, usedOctets: 0 }),
      await connection.creditControl({ ...ids, type: 'UPDATE', requestNumber: 1, usedOctets: 3_000_000 }),
      await connection.creditControl({ ...ids, type: 'TERMINATE', requestNumber: 2, usedOctets: 1_250_000 }),
    ];
    return results.filter((code) => code !== 2001).length;
  };
  await measure(1_000, session);
  base = 1_000;
  const result = await measure(SESSIONS, session);
  await Promise.all(connections.map((connection) => connection.close()));
  console.log(
    `Diameter, ${encoding === 'codec' ? "the project's codec" : 'bench/gy-client.ts templates'}: ${result.micros.toFixed(1)} µs CPU/request ` +
      `(${Math.round(result.rate)} requests/s, ${result.errors} errors)`,
  );
}

async function main(): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'serve'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const ports = await new Promise<{ nchf: number; diameter: number }>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const line = out.split('\n').find((candidate) => candidate.startsWith('{'));
        if (line !== undefined) resolve(JSON.parse(line) as { nchf: number; diameter: number });
      });
      child.once('exit', (code) => reject(new Error(`the server child exited (${code})`)));
    });
    console.log(
      `load generator cost: ${SESSIONS} sessions × 3 requests, ${CONCURRENCY} at a time over ${CONNECTIONS} connections`,
    );
    await nchf(ports.nchf, 'node');
    await nchf(ports.nchf, 'lean');
    await diameter(ports.diameter, 'codec');
    await diameter(ports.diameter, 'template');
  } finally {
    child.kill('SIGTERM');
  }
}

if (process.argv[2] === 'serve') await serve();
else await main();
