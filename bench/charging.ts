/**
 * Online charging benchmark: `npm run bench:charging`.
 *
 * The real server (`tollgate serve` with TOLLGATE_NCHF_ENABLED and TOLLGATE_DIAMETER_ENABLED, a
 * separate process, on SQLite; its compiled build, as deployed, made afresh with `npm run build`'s
 * tsc before the run, or with BENCH_SERVER=source its sources through tsx) and this process as the
 * load generator. BENCH_SUBSCRIBERS (1 000)
 * prepaid subscribers have a money balance of 100 EUR each. Two phases, one after the other, each
 * BENCH_CONCURRENCY (64) sessions at a time, session n charged to subscriber n % BENCH_SUBSCRIBERS.
 * (Little's law: requests in flight = rate × latency, so a p99 of 5 ms at 20 000 requests/s leaves
 * room for about 100 in flight at most; 256 in flight could not meet it at any rate.)
 *
 * - Nchf: BENCH_SESSIONS (20 000) data sessions over BENCH_CONNECTIONS (4) HTTP/2 cleartext
 *   connections, each create (a default grant), update (3 000 000 bytes used, a new grant) and
 *   release (1 250 000 bytes used). The client is ./h2-client.ts, a minimal HTTP/2 client that costs
 *   about 9 µs of CPU per request against node:http2's client's 65-70 µs (BENCH_H2_CLIENT=node
 *   selects node:http2's, to compare);
 * - Diameter Gy: BENCH_DIAMETER_SESSIONS (as many) data sessions over BENCH_DIAMETER_CONNECTIONS
 *   (as many) TCP connections, each opened with CER/CEA and pipelined (answers matched by
 *   Hop-by-Hop Identifier): CCR-INITIAL (a default grant), CCR-UPDATE (CC-Total-Octets 3 000 000
 *   used, a new grant), CCR-TERMINATE (1 250 000 used), each with a Multiple-Services-Credit-Control
 *   for rating group 10. Any Result-Code but 2001, in the CCA or in its MSCC, is an error. The
 *   client is ./gy-client.ts: CCRs patched from pre-encoded templates, about 9 µs of CPU per CCR
 *   against 28-32 µs with the project's codec per message (BENCH_DIAMETER_CODEC=codec).
 *
 * Before each phase, BENCH_WARMUP_SESSIONS (2 000) sessions of the same kind run unmeasured: the
 * server's first second, while V8 compiles its hot code and each subscriber's account is loaded on
 * first use, is a start-up cost rather than the steady state, and its latencies would otherwise be
 * most of a measured p99 (measured here: Nchf p99 69 ms over a whole cold phase, 26 ms without its
 * first tenth). Their usage is checked with the rest.
 *
 * Every request's latency is measured from its send to its complete answer; each phase prints its
 * rate, p50/p95/p99, errors, the load generator's CPU per request (bench/charging-clients.ts
 * measures the clients' cost alone, against servers without a database) and, on Linux, the
 * server's CPU per request read from /proc: its main thread's (which serves every request, so the
 * figure to cut) and all its threads' (with the SQLite writer and the kernel's work for its fsyncs),
 * and the bytes it wrote per request (WAL and checkpoints: the disk's share of the work). The CPU
 * figures move less with the machine's load than the rate does, which also counts the time the
 * server waits for a core and for the disk, but on a busy 2-core machine still by 10 to 20 %.
 *
 * Afterwards the server is stopped and every balance is checked: it must equal 100 EUR minus the
 * price of exactly what its completed sessions of both phases reported (priced here, independently
 * of the server, with the same catalog), to the pico-unit, equal the sum of its stored movements,
 * and hold nothing.
 *
 * The server answers only once a request's changes are committed and the WAL synced (group commit;
 * the writer thread syncs the WAL itself before it answers, see src/storage/sqlite-writer.ts), so
 * every granted reservation and every debit is durable before its answer leaves.
 *
 * The last line of the output is one JSON object with the issue's keys (tps and p*_ms are Nchf's;
 * errors are both phases'); the server's CPU per request is in each phase's lines above it:
 *   {"bench":"charging","tps":N,"p50_ms":N,"p95_ms":N,"p99_ms":N,"diameter_tps":N,"diameter_p99_ms":N,
 *    "errors":N,"balances_exact":true|false,"cores":N}
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FakeClock, systemClock } from '../src/kernel/clock.js';
import { openDatabase } from '../src/storage/database.js';
import { migrateToLatest } from '../src/storage/migrate.js';
import { allMigrations } from '../src/app/migrations.js';
import { loadDemoFiles } from '../src/app/demo-files.js';
import { seedDemoIfEmpty } from '../src/workflows/demo.js';
import { findTenant } from '../src/workflows/tenants.js';
import { importCustomers, importRecordsFromCsv } from '../src/workflows/customers.js';
import { createApiKey } from '../src/workflows/api-keys.js';
import { ChargingEngine } from '../src/workflows/charging.js';
import { SubscriberDirectory } from '../src/workflows/usage-directory.js';
import { OnlinePricer } from '../src/workflows/usage-rating.js';
import * as chargingStore from '../src/charging/store.js';
import type { WorkflowDeps } from '../src/workflows/context.js';
import { leanPoster, nodePoster, type Poster } from './posters.js';
import { GyConnection, type GyEncoding } from './gy-client.js';

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1_000);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const DIAMETER_SESSIONS = Number(process.env.BENCH_DIAMETER_SESSIONS ?? SESSIONS);
const DIAMETER_CONNECTIONS = Number(process.env.BENCH_DIAMETER_CONNECTIONS ?? CONNECTIONS);
/** Sessions run before each measured phase, not measured (see main). */
const WARMUP_SESSIONS = Number(process.env.BENCH_WARMUP_SESSIONS ?? 2_000);
/** `lean` (./h2-client.ts, the default) or `node` (node:http2's client), to compare their cost. */
const H2_CLIENT = process.env.BENCH_H2_CLIENT === 'node' ? 'node' : 'lean';
/** `template` (the default) or `codec`: how the Diameter client makes CCRs and reads CCAs. */
const DIAMETER_CODEC: GyEncoding = process.env.BENCH_DIAMETER_CODEC === 'codec' ? 'codec' : 'template';
const USED_UPDATE = 3_000_000;
const USED_RELEASE = 1_250_000;
const INITIAL_PICO = 100n * 1_000_000_000_000n;
const ROOT = fileURLToPath(new URL('../', import.meta.url));
/**
 * Which server runs: 'build' (the default), the compiled build an operator deploys (`npm run
 * build`'s tsc), compiled afresh from the sources before every run so it is never stale, into
 * BUILD_DIR rather than dist/ (bin/tollgate.js prefers a dist/ it finds, and a build left there by
 * a benchmark would go stale under later edits); or 'source', the TypeScript sources through tsx
 * as a fresh checkout's `npm start` runs them (esbuild's output through a loader: measured here
 * about a fifth more CPU per request on the server's main thread).
 */
const SERVER_FROM = process.env.BENCH_SERVER === 'source' ? 'source' : 'build';
const BUILD_DIR = join(ROOT, '.tmp', 'bench-server');

const msisdn = (i: number): string => `4915140${String(i).padStart(6, '0')}`;

function customersCsv(): string {
  const header =
    'customerRef,customerName,customerType,email,phone,accountRef,accountName,currency,billCycleDay,timeZone,invoiceDelivery,ratingType,creditClass,creditLimit,costCentre,parentAccountRef,payerAccountRef,offerCode,subscriptionName,status,startDate,addOns,msisdn,imsi,iccid,sipUri,lineId,deviceId';
  const rows = [header];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    rows.push(
      `P-${i},Prepaid ${i},individual,,,PA-${i},Prepaid ${i},EUR,1,Europe/Berlin,email,prepaid,,,,,,MOBILE-POSTPAID-M,Prepaid ${i},active,2026-02-01T00:00:00Z,,${msisdn(i)},,,,,`,
    );
  }
  return `${rows.join('\n')}\n`;
}

interface Prepared {
  readonly path: string;
  readonly key: string;
  readonly tenantId: string;
  readonly accounts: readonly string[];
}

async function prepare(dir: string): Promise<Prepared> {
  const path = join(dir, 'charging.db');
  const database = await openDatabase(`sqlite:${path}`);
  await migrateToLatest(database, allMigrations);
  const clock = new FakeClock(new Date().toISOString());
  const deps: WorkflowDeps = { database, clock };
  await seedDemoIfEmpty(deps, loadDemoFiles());
  const tenant = await findTenant(deps, 'demo');
  const tenantId = tenant!.id;
  const caller = { tenantId, actor: { type: 'system' as const, id: 'bench' } };
  const report = await importCustomers(deps, caller, importRecordsFromCsv(customersCsv()), { atomic: true });
  if (report.rejected > 0) throw new Error(`bench customers rejected: ${JSON.stringify(report.errors[0])}`);
  const key = await createApiKey(deps, caller, { name: 'bench smf', roles: ['network-element'] });
  const engine = new ChargingEngine({ database, clock });
  const directory = new SubscriberDirectory(database, tenantId);
  const accounts: string[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    await directory.preloadIdentity('msisdn', msisdn(i));
    const owner = directory.ownerAt('msisdn', msisdn(i), clock.nowMs());
    if (owner === undefined) throw new Error(`subscriber ${msisdn(i)} not found`);
    accounts.push(owner.account.id);
    const balanceId = `bench-${i}`;
    await engine.openBalance(tenantId, owner.account.id, 'EUR', {
      id: balanceId,
      ownerKind: 'account',
      ownerId: owner.account.id,
      unit: 'money',
    });
    await engine.move(tenantId, owner.account.id, 'top_up', {
      balanceId,
      amount: INITIAL_PICO,
      reference: 'bench',
    });
  }
  await engine.drain();
  await database.close();
  return { path, key: key.secret, tenantId, accounts };
}

interface Started {
  readonly child: ChildProcess;
  readonly nchfPort: number;
  readonly diameterPort: number;
}

/**
 * Starts `tollgate serve` on the database with Nchf and Diameter on ephemeral ports; resolves with
 * both ports, read from its banner once it is complete.
 */
function startServer(path: string): Promise<Started> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith('TOLLGATE_')) env[name] = value;
  Object.assign(env, {
    TOLLGATE_DATABASE_URL: `sqlite:${path}`,
    TOLLGATE_PORT: '0',
    TOLLGATE_NCHF_ENABLED: 'true',
    TOLLGATE_NCHF_PORT: '0',
    TOLLGATE_DIAMETER_ENABLED: 'true',
    TOLLGATE_DIAMETER_PORT: '0',
    TOLLGATE_DIAMETER_TENANT: 'demo',
    TOLLGATE_DIAMETER_ORIGIN_HOST: 'ocs.bench.test',
    TOLLGATE_DIAMETER_ORIGIN_REALM: 'bench.test',
    // No scheduled allowance grants: the bench's subscribers pay every byte from their money
    // balance, which is what the balance check prices. (With grants on, the plan's data allowance
    // becomes a unit bucket drawn first, and the money balances would not move.)
    TOLLGATE_CHARGING_GRANT_SECONDS: '0',
    TOLLGATE_LOG_LEVEL: 'warn',
    TOLLGATE_WEBHOOKS_ENABLED: 'false',
    TOLLGATE_FROM_SOURCE: SERVER_FROM === 'source' ? '1' : '0',
  });
  // BENCH_SERVER_PROFILE=<dir>: the server writes a V8 CPU profile there when it stops.
  const profile = process.env.BENCH_SERVER_PROFILE;
  const flags = profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`];
  const main = SERVER_FROM === 'build' ? join(BUILD_DIR, 'cli', 'main.js') : join(ROOT, 'bin', 'tollgate.js');
  const child = spawn(process.execPath, [...flags, main, 'serve'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    // The banner goes to stderr (stdout carries the JSON log lines); its last line is
    // "Press Ctrl+C to stop.".
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (!out.includes('Press Ctrl+C to stop.')) return;
      const nchf = /Nchf\s+http:\/\/[^:]+:(\d+)\//.exec(out);
      const diameter = /Diameter\s+Gy\/Ro on tcp [^\s]+:(\d+) /.exec(out);
      child.stdout?.off('data', onData);
      child.stderr?.off('data', onData);
      child.stdout?.resume();
      child.stderr?.resume();
      if (nchf === null || diameter === null) {
        reject(new Error(`no Nchf or Diameter port in the banner:\n${out}`));
        return;
      }
      resolve({ child, nchfPort: Number(nchf[1]), diameterPort: Number(diameter[1]) });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before it was ready:\n${out}`)));
  });
}

const BASE = '/nchf-convergedcharging/v3/chargingdata';
const NF =
  '{"nodeFunctionality":"SMF","nFName":"5b0ae9b6-3c1e-4f55-9d3a-8f0a7c6e2d41","nFIPv4Address":"10.0.0.1"}';

function body(subscriber: string, sequence: number, units: string): string {
  return `{"subscriberIdentifier":"msisdn-${subscriber}","nfConsumerIdentification":${NF},"invocationTimeStamp":"${new Date().toISOString()}","invocationSequenceNumber":${sequence},"multipleUnitUsage":[{"ratingGroup":10${units}}]}`;
}

const container = (bytes: number): string =>
  `,"usedUnitContainer":[{"quotaManagementIndicator":"ONLINE_CHARGING","totalVolume":${bytes},"localSequenceNumber":1}]`;

interface PhaseResult {
  readonly name: string;
  readonly latencies: Float64Array;
  readonly count: number;
  readonly errors: number;
  readonly seconds: number;
  /** CPU of this process (user + system) per request, in microseconds. */
  readonly cpuMicrosPerRequest: number;
  /** The server's CPU (µs) and bytes written, per request (undefined off Linux). */
  readonly server: ServerCpu | undefined;
  /** Sessions completed (every request answered as expected), per subscriber. */
  readonly sessionsOf: Int32Array;
}

/**
 * CPU time (user + system) of the server, µs: its main thread alone, and all its threads; and the
 * bytes it handed the kernel to write (wchar: the WAL, checkpoints into the database file, and
 * sockets alike).
 */
interface ServerCpu {
  readonly mainMicros: number;
  readonly allMicros: number;
  readonly writtenBytes: number;
}

/** Linux's USER_HZ, the unit of the times in /proc/<pid>/stat (100 on every mainstream kernel). */
const CLOCK_TICKS_PER_SECOND = 100;

/**
 * The server's CPU so far, read from /proc (utime + stime of the main thread, whose task id is the
 * process id, and of the whole process); undefined where there is no /proc. The main thread is the
 * one that serves every request, so its CPU per request is the figure to cut; the rest is mostly
 * the SQLite writer thread and the kernel's work for its fsyncs.
 */
function serverCpu(pid: number | undefined): ServerCpu | undefined {
  if (pid === undefined) return undefined;
  const ticks = (path: string): number => {
    const text = readFileSync(path, 'latin1');
    // Fields after the command name (which may hold spaces), from field 3: utime is 14, stime 15.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  };
  try {
    const micros = 1_000_000 / CLOCK_TICKS_PER_SECOND;
    const written = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'latin1'));
    return {
      mainMicros: ticks(`/proc/${pid}/task/${pid}/stat`) * micros,
      allMicros: ticks(`/proc/${pid}/stat`) * micros,
      writtenBytes: Number(written?.[1] ?? Number.NaN),
    };
  } catch {
    return undefined;
  }
}

/** Times one request: its latency is recorded whatever the outcome; false counts as an error. */
type Timed = <T>(send: () => Promise<T>, ok: (answer: T) => boolean) => Promise<T | undefined>;

/**
 * Runs `sessions` sessions numbered from `firstSession`, `concurrency` at a time; session n
 * belongs to subscriber n % SUBSCRIBERS. `runSession` makes its requests through `timed` and says whether all succeeded.
 */
async function runPhase(
  name: string,
  sessions: number,
  firstSession: number,
  serverPid: number | undefined,
  runSession: (n: number, worker: number, timed: Timed) => Promise<boolean>,
): Promise<
  Omit<PhaseResult, 'cpuMicrosPerRequest' | 'server'> & {
    cpu: NodeJS.CpuUsage;
    serverCpu: ServerCpu | undefined;
  }
> {
  const latencies = new Float64Array(sessions * 3);
  const sessionsOf = new Int32Array(SUBSCRIBERS);
  let count = 0;
  let errors = 0;
  let next = 0;
  const timed: Timed = async (send, ok) => {
    const started = performance.now();
    try {
      const answer = await send();
      latencies[count++] = performance.now() - started;
      if (ok(answer)) return answer;
    } catch {
      latencies[count++] = performance.now() - started;
    }
    errors++;
    return undefined;
  };
  const worker = async (w: number): Promise<void> => {
    for (;;) {
      if (next >= sessions) return;
      const n = firstSession + next++;
      const who = n % SUBSCRIBERS;
      if (await runSession(n, w, timed)) sessionsOf[who] = (sessionsOf[who] as number) + 1;
    }
  };
  const serverBefore = serverCpu(serverPid);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let lastCount = 0;
  let lastAt = started;
  const progress = setInterval(() => {
    const now = performance.now();
    console.log(
      `  ${name}: ${count} requests, ${Math.round(((count - lastCount) * 1000) / (now - lastAt))}/s, ${errors} errors`,
    );
    lastCount = count;
    lastAt = now;
  }, 2000);
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  clearInterval(progress);
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const serverAfter = serverCpu(serverPid);
  const serverUsed =
    serverBefore === undefined || serverAfter === undefined
      ? undefined
      : {
          mainMicros: serverAfter.mainMicros - serverBefore.mainMicros,
          allMicros: serverAfter.allMicros - serverBefore.allMicros,
          writtenBytes: serverAfter.writtenBytes - serverBefore.writtenBytes,
        };
  return {
    name,
    latencies: latencies.subarray(0, count),
    count,
    errors,
    seconds,
    sessionsOf,
    cpu,
    serverCpu: serverUsed,
  };
}

function withCpu(run: Awaited<ReturnType<typeof runPhase>>): PhaseResult {
  const requests = Math.max(1, run.count);
  return {
    ...run,
    cpuMicrosPerRequest: (run.cpu.user + run.cpu.system) / requests,
    server:
      run.serverCpu === undefined
        ? undefined
        : {
            mainMicros: run.serverCpu.mainMicros / requests,
            allMicros: run.serverCpu.allMicros / requests,
            writtenBytes: run.serverCpu.writtenBytes / requests,
          },
  };
}

/** Nchf: create (a default grant), update (3 000 000 bytes used, a new grant), release (1 250 000 used). */
async function driveNchf(
  serverPid: number | undefined,
  port: number,
  key: string,
  name: string,
  sessions: number,
  firstSession: number,
): Promise<PhaseResult> {
  const posters = await Promise.all(
    Array.from({ length: CONNECTIONS }, () =>
      H2_CLIENT === 'node' ? nodePoster(port, key) : leanPoster(port, key),
    ),
  );
  const run = await runPhase(name, sessions, firstSession, serverPid, async (n, w, timed) => {
    const poster = posters[w % CONNECTIONS] as Poster;
    const subscriber = msisdn(n % SUBSCRIBERS);
    const created = await timed(
      () => poster.post(BASE, body(subscriber, 0, ',"requestedUnit":{}')),
      (reply) => reply.status === 201 && reply.location !== undefined,
    );
    const ref = created?.location?.slice(created.location.lastIndexOf('/') + 1);
    if (ref === undefined) return false;
    const updated = await timed(
      () =>
        poster.post(
          `${BASE}/${ref}/update`,
          body(subscriber, 1, `,"requestedUnit":{}${container(USED_UPDATE)}`),
        ),
      (reply) => reply.status === 200,
    );
    if (updated === undefined) return false;
    const released = await timed(
      () => poster.post(`${BASE}/${ref}/release`, body(subscriber, 2, container(USED_RELEASE))),
      (reply) => reply.status === 204,
    );
    return released !== undefined;
  });
  await Promise.all(posters.map((poster) => poster.close()));
  return withCpu(run);
}

/**
 * Diameter Gy: CCR-INITIAL (a default grant), CCR-UPDATE (3 000 000 octets used, a new grant),
 * CCR-TERMINATE (1 250 000 used), each with one Multiple-Services-Credit-Control for rating
 * group 10; any Result-Code but 2001, in the CCA or its MSCC, is an error.
 */
async function driveDiameter(
  serverPid: number | undefined,
  port: number,
  name: string,
  sessions: number,
  firstSession: number,
): Promise<PhaseResult> {
  const connections = await Promise.all(
    Array.from({ length: DIAMETER_CONNECTIONS }, (_, i) =>
      GyConnection.connect({
        port,
        originHost: `pgw${i}.bench.test`,
        originRealm: 'operator.bench.test',
        encoding: DIAMETER_CODEC,
      }),
    ),
  );
  const ok = (resultCode: number): boolean => resultCode === 2001;
  const run = await runPhase(name, sessions, firstSession, serverPid, async (n, w, timed) => {
    const connection = connections[w % DIAMETER_CONNECTIONS] as GyConnection;
    const subscriber = msisdn(n % SUBSCRIBERS);
    const session = { session: n, msisdn: subscriber };
    if (
      (await timed(
        () => connection.creditControl({ ...session, type: 'INITIAL', requestNumber: 0, usedOctets: 0 }),
        ok,
      )) === undefined
    )
      return false;
    if (
      (await timed(
        () =>
          connection.creditControl({ ...session, type: 'UPDATE', requestNumber: 1, usedOctets: USED_UPDATE }),
        ok,
      )) === undefined
    )
      return false;
    return (
      (await timed(
        () =>
          connection.creditControl({
            ...session,
            type: 'TERMINATE',
            requestNumber: 2,
            usedOctets: USED_RELEASE,
          }),
        ok,
      )) !== undefined
    );
  });
  await Promise.all(connections.map((connection) => connection.close()));
  return withCpu(run);
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/**
 * Checks every balance after the server stopped: stored amount = sum of its movements = 100 EUR
 * minus the price of what its completed sessions of both phases reported (3 000 000 + 1 250 000
 * bytes each, priced here with the same catalog), and nothing held.
 */
async function checkBalances(
  prepared: Prepared,
  phases: readonly PhaseResult[],
): Promise<{ exact: boolean; mismatches: number }> {
  const database = await openDatabase(`sqlite:${prepared.path}`);
  const pricer = await OnlinePricer.load(database.db, prepared.tenantId);
  const directory = new SubscriberDirectory(database, prepared.tenantId);
  let mismatches = 0;
  const now = systemClock.nowMs();
  for (let i = 0; i < SUBSCRIBERS; i++) {
    await directory.preloadIdentity('msisdn', msisdn(i));
    const owner = directory.ownerAt('msisdn', msisdn(i), now)!;
    const template = {
      service: 'data' as const,
      identityType: 'msisdn' as const,
      identity: msisdn(i),
      startMs: now,
      durationSec: 0,
      volumeUpBytes: 0,
      volumeDownBytes: 0,
      count: 0,
      roaming: false,
      ratingGroup: 10,
    };
    const price = (bytes: number): bigint => {
      const priced = pricer.price(owner, template, BigInt(bytes));
      if (!('amountPico' in priced)) throw new Error(`cannot price: ${priced.message}`);
      return priced.amountPico;
    };
    let sessions = 0;
    for (const phase of phases) sessions += phase.sessionsOf[i] as number;
    const expected = INITIAL_PICO - BigInt(sessions) * (price(USED_UPDATE) + price(USED_RELEASE));
    const row = await chargingStore.findBalanceRow(database.db, prepared.tenantId, `bench-${i}`);
    const sum = await chargingStore.sumMovements(database.db, prepared.tenantId, `bench-${i}`);
    if (
      row === undefined ||
      row.balance.amount !== expected ||
      sum.total !== expected ||
      row.balance.held !== 0n
    ) {
      mismatches++;
      if (mismatches <= 3) {
        console.log(
          `  balance bench-${i}: stored ${row?.balance.amount}, movements ${sum.total}, held ${row?.balance.held}, expected ${expected} ` +
            `(${phases.map((phase) => `${phase.sessionsOf[i]} ${phase.name}`).join(' + ')} sessions)`,
        );
      }
    }
  }
  await database.close();
  return { exact: mismatches === 0, mismatches };
}

interface Figures {
  readonly tps: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  /** The server main thread's CPU per request, µs (undefined off Linux). */
  readonly serverMainMicros: number | undefined;
}

function report(run: PhaseResult, what: string): Figures {
  const tps = run.count / run.seconds;
  const sorted = Float64Array.from(run.latencies).sort();
  const figures = {
    tps,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    serverMainMicros: run.server?.mainMicros,
  };
  const server =
    run.server === undefined
      ? ''
      : `; server ${run.server.mainMicros.toFixed(0)} µs CPU/request on its main thread, ${run.server.allMicros.toFixed(0)} in all, ` +
        `${(run.server.writtenBytes / 1024).toFixed(1)} kB written/request`;
  console.log(
    `${run.name}: ${run.count} requests (${what}) in ${run.seconds.toFixed(2)} s = ${Math.round(tps)}/s; ` +
      `p50 ${figures.p50.toFixed(2)} ms, p95 ${figures.p95.toFixed(2)} ms, p99 ${figures.p99.toFixed(2)} ms; ${run.errors} errors; ` +
      `load generator ${run.cpuMicrosPerRequest.toFixed(1)} µs CPU/request${server}`,
  );
  return figures;
}

const ms = (value: number): number => Number(value.toFixed(2));

async function main(): Promise<void> {
  console.log(
    `charging bench: node ${process.version}, load average ${loadavg()[0]?.toFixed(2)} on ${availableParallelism()} cores; ` +
      `HTTP/2 client ${H2_CLIENT}, Diameter ${DIAMETER_CODEC}; server from its ${SERVER_FROM === 'build' ? 'compiled build' : 'sources (tsx)'}`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-charging-'));
  let server: ChildProcess | undefined;
  try {
    const t = performance.now();
    const prepared = await prepare(dir);
    console.log(
      `setup: ${SUBSCRIBERS} prepaid subscribers with 100 EUR each in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    if (SERVER_FROM === 'build') {
      const built = performance.now();
      const tsc = spawnSync(
        process.execPath,
        [
          join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
          '-p',
          join(ROOT, 'tsconfig.build.json'),
          '--outDir',
          BUILD_DIR,
        ],
        { cwd: ROOT, encoding: 'utf8' },
      );
      if (tsc.status !== 0) throw new Error(`npm run build (tsc) failed:\n${tsc.stdout}${tsc.stderr}`);
      console.log(
        `server build: npm run build's tsc into ${BUILD_DIR} in ${((performance.now() - built) / 1000).toFixed(1)} s`,
      );
    }
    const started = await startServer(prepared.path);
    server = started.child;
    console.log(
      `server: tollgate serve (${SERVER_FROM === 'build' ? 'compiled' : 'src/ through tsx'}), Nchf on 127.0.0.1:${started.nchfPort}, Diameter on 127.0.0.1:${started.diameterPort} (pid ${server.pid})`,
    );
    // Warm-up sessions first, not measured (their usage is checked with the rest): the server's
    // first second compiles its hot code and loads each subscriber's account on first use, and
    // those first requests' latencies would otherwise be most of the measured p99.
    const warmups: PhaseResult[] = [];
    if (WARMUP_SESSIONS > 0) {
      const warm = await driveNchf(
        server.pid,
        started.nchfPort,
        prepared.key,
        'Nchf warm-up',
        WARMUP_SESSIONS,
        SESSIONS,
      );
      report(warm, `${WARMUP_SESSIONS} warm-up sessions, not measured`);
      warmups.push(warm);
    }
    const nchfRun = await driveNchf(server.pid, started.nchfPort, prepared.key, 'Nchf', SESSIONS, 0);
    const nchf = report(nchfRun, `${SESSIONS} sessions × create/update/release`);
    if (WARMUP_SESSIONS > 0) {
      const warm = await driveDiameter(
        server.pid,
        started.diameterPort,
        'Diameter warm-up',
        WARMUP_SESSIONS,
        DIAMETER_SESSIONS,
      );
      report(warm, `${WARMUP_SESSIONS} warm-up sessions, not measured`);
      warmups.push(warm);
    }
    const diameterRun = await driveDiameter(
      server.pid,
      started.diameterPort,
      'Diameter',
      DIAMETER_SESSIONS,
      0,
    );
    const diameter = report(diameterRun, `${DIAMETER_SESSIONS} sessions × CCR-I/U/T`);
    server.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
    server = undefined;
    const check = await checkBalances(prepared, [...warmups, nchfRun, diameterRun]);
    console.log(
      `balances: ${check.exact ? 'every balance exact' : `${check.mismatches} balances differ`} (stored = movements = 100 EUR − price of the bytes every phase reported, warm-ups included)`,
    );
    const errors = nchfRun.errors + diameterRun.errors;
    const met = (ok: boolean): string => (ok ? 'met' : 'MISSED');
    console.log(
      `targets: ≥ 20 000 requests/s ${met(nchf.tps >= 20_000)} (Diameter ${met(diameter.tps >= 20_000)}); ` +
        `p99 ≤ 5 ms ${met(nchf.p99 <= 5)} (Diameter ${met(diameter.p99 <= 5)}); no errors ${met(errors === 0)}`,
    );
    console.log(
      JSON.stringify({
        bench: 'charging',
        tps: Math.round(nchf.tps),
        p50_ms: ms(nchf.p50),
        p95_ms: ms(nchf.p95),
        p99_ms: ms(nchf.p99),
        diameter_tps: Math.round(diameter.tps),
        diameter_p99_ms: ms(diameter.p99),
        errors,
        balances_exact: check.exact,
        cores: availableParallelism(),
      }),
    );
  } finally {
    server?.kill('SIGKILL');
    if (process.env.BENCH_KEEP_DB === '1') console.log(`database kept in ${dir} (BENCH_KEEP_DB=1)`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

await main();
