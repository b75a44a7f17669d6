/**
 * Online charging benchmark: `npm run bench:charging`.
 *
 * The real server (`tollgate serve` with TOLLGATE_NCHF_ENABLED, a separate process, on SQLite)
 * and this process as the load generator: BENCH_SUBSCRIBERS (1 000) prepaid subscribers with a
 * money balance of 100 EUR each; BENCH_SESSIONS (20 000) Nchf data sessions, BENCH_CONCURRENCY
 * (256) at a time over BENCH_CONNECTIONS (4) HTTP/2 connections. Each session is create (a default
 * grant), update (3 000 000 bytes used, a new grant) and release (1 250 000 bytes used): three
 * charging requests. Every request's latency is measured from its send to its complete answer.
 *
 * Afterwards the server is stopped and every balance is checked: it must equal 100 EUR minus the
 * price of exactly what its sessions reported (priced here, independently of the server, with the
 * same catalog), to the pico-unit, and equal the sum of its stored movements.
 *
 * The server answers only once a request's changes are committed (group commit, synchronous=FULL),
 * so every granted reservation and every debit is durable before its answer leaves.
 *
 * Diameter Gy is not measured yet (diameter_tps and diameter_p99_ms are null).
 * The last line of the output is one JSON object:
 *   {"bench":"charging","tps":N,"p50_ms":N,"p95_ms":N,"p99_ms":N,"diameter_tps":N,"diameter_p99_ms":N,
 *    "errors":N,"balances_exact":true|false,"cores":N}
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type ClientHttp2Session } from 'node:http2';
import { mkdtempSync, rmSync } from 'node:fs';
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

const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 1_000);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 20_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 256);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 4);
const USED_UPDATE = 3_000_000;
const USED_RELEASE = 1_250_000;
const INITIAL_PICO = 100n * 1_000_000_000_000n;
const ROOT = fileURLToPath(new URL('../', import.meta.url));

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

/** Starts `tollgate serve` on the database; resolves with the Nchf port from its banner. */
function startServer(path: string): Promise<{ child: ChildProcess; port: number }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env))
    if (!name.startsWith('TOLLGATE_')) env[name] = value;
  Object.assign(env, {
    TOLLGATE_DATABASE_URL: `sqlite:${path}`,
    TOLLGATE_PORT: '0',
    TOLLGATE_NCHF_ENABLED: 'true',
    TOLLGATE_NCHF_PORT: '0',
    TOLLGATE_LOG_LEVEL: 'warn',
    TOLLGATE_WEBHOOKS_ENABLED: 'false',
    TOLLGATE_FROM_SOURCE: '1',
  });
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'tollgate.js'), 'serve'], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    // The banner goes to stderr (stdout carries the JSON log lines).
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const match = /Nchf\s+http:\/\/[^:]+:(\d+)\//.exec(out);
      if (match !== null) {
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ child, port: Number(match[1]) });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before it was ready:\n${out}`)));
  });
}

interface Reply {
  status: number;
  location: string | undefined;
}

function post(session: ClientHttp2Session, path: string, body: string, key: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const stream = session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/json',
      authorization: `Bearer ${key}`,
    });
    let status = 0;
    let location: string | undefined;
    stream.on('response', (headers) => {
      status = Number(headers[':status']);
      location = headers.location as string | undefined;
    });
    stream.on('data', () => undefined);
    stream.on('end', () => resolve({ status, location }));
    stream.on('error', reject);
    stream.end(body);
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

async function drive(
  port: number,
  key: string,
): Promise<{
  latencies: Float64Array;
  count: number;
  errors: number;
  seconds: number;
  sessionsOf: Int32Array;
}> {
  const sessions = Array.from({ length: CONNECTIONS }, () => {
    const s = connect(`http://127.0.0.1:${port}`);
    s.on('error', () => undefined);
    return s;
  });
  const latencies = new Float64Array(SESSIONS * 3);
  const sessionsOf = new Int32Array(SUBSCRIBERS);
  let count = 0;
  let errors = 0;
  let next = 0;
  const timed = async (
    session: ClientHttp2Session,
    path: string,
    payload: string,
    expected: number,
  ): Promise<Reply | undefined> => {
    const started = performance.now();
    try {
      const reply = await post(session, path, payload, key);
      latencies[count++] = performance.now() - started;
      if (reply.status !== expected) {
        errors++;
        return undefined;
      }
      return reply;
    } catch {
      latencies[count++] = performance.now() - started;
      errors++;
      return undefined;
    }
  };
  const worker = async (w: number): Promise<void> => {
    const connection = sessions[w % CONNECTIONS] as ClientHttp2Session;
    for (;;) {
      const n = next++;
      if (n >= SESSIONS) return;
      const who = n % SUBSCRIBERS;
      const subscriber = msisdn(who);
      const created = await timed(connection, BASE, body(subscriber, 0, ',"requestedUnit":{}'), 201);
      const ref = created?.location?.slice(created.location.lastIndexOf('/') + 1);
      if (ref === undefined) continue;
      const updated = await timed(
        connection,
        `${BASE}/${ref}/update`,
        body(subscriber, 1, `,"requestedUnit":{}${container(USED_UPDATE)}`),
        200,
      );
      if (updated === undefined) continue;
      const released = await timed(
        connection,
        `${BASE}/${ref}/release`,
        body(subscriber, 2, container(USED_RELEASE)),
        204,
      );
      if (released !== undefined) sessionsOf[who] = (sessionsOf[who] as number) + 1;
    }
  };
  const started = performance.now();
  let lastCount = 0;
  let lastAt = started;
  const progress = setInterval(() => {
    const now = performance.now();
    console.log(
      `  ${count} requests, ${Math.round(((count - lastCount) * 1000) / (now - lastAt))}/s, ${errors} errors`,
    );
    lastCount = count;
    lastAt = now;
  }, 2000);
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  clearInterval(progress);
  const seconds = (performance.now() - started) / 1000;
  for (const s of sessions) s.close();
  return { latencies: latencies.subarray(0, count), count, errors, seconds, sessionsOf };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function checkBalances(
  prepared: Prepared,
  sessionsOf: Int32Array,
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
    const expected =
      INITIAL_PICO - BigInt(sessionsOf[i] as number) * (price(USED_UPDATE) + price(USED_RELEASE));
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
          `  balance bench-${i}: stored ${row?.balance.amount}, movements ${sum.total}, held ${row?.balance.held}, expected ${expected}`,
        );
      }
    }
  }
  await database.close();
  return { exact: mismatches === 0, mismatches };
}

async function main(): Promise<void> {
  console.log(
    `charging bench: node ${process.version}, load average ${loadavg()[0]?.toFixed(2)} on ${availableParallelism()} cores`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-bench-charging-'));
  let server: ChildProcess | undefined;
  try {
    let t = performance.now();
    const prepared = await prepare(dir);
    console.log(
      `setup: ${SUBSCRIBERS} prepaid subscribers with 100 EUR each in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    const started = await startServer(prepared.path);
    server = started.child;
    console.log(`server: tollgate serve, Nchf on 127.0.0.1:${started.port} (pid ${server.pid})`);
    t = performance.now();
    const run = await drive(started.port, prepared.key);
    const tps = run.count / run.seconds;
    const sorted = Float64Array.from(run.latencies).sort();
    console.log(
      `Nchf: ${run.count} requests (${SESSIONS} sessions × create/update/release) in ${run.seconds.toFixed(2)} s = ${Math.round(tps)}/s; ` +
        `p50 ${percentile(sorted, 50).toFixed(2)} ms, p95 ${percentile(sorted, 95).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms; ${run.errors} errors`,
    );
    server.kill('SIGTERM');
    await new Promise((resolve) => server?.once('exit', resolve));
    server = undefined;
    const check = await checkBalances(prepared, run.sessionsOf);
    console.log(
      `balances: ${check.exact ? 'every balance exact' : `${check.mismatches} balances differ`} (stored = movements = 100 EUR − price of the reported bytes)`,
    );
    console.log(
      `targets: ≥ 20 000 requests/s ${tps >= 20_000 ? 'met' : 'MISSED'}; p99 ≤ 5 ms ${percentile(sorted, 99) <= 5 ? 'met' : 'MISSED'}; no errors ${run.errors === 0 ? 'met' : 'MISSED'}`,
    );
    console.log(
      JSON.stringify({
        bench: 'charging',
        tps: Math.round(tps),
        p50_ms: Number(percentile(sorted, 50).toFixed(2)),
        p95_ms: Number(percentile(sorted, 95).toFixed(2)),
        p99_ms: Number(percentile(sorted, 99).toFixed(2)),
        diameter_tps: null,
        diameter_p99_ms: null,
        errors: run.errors,
        balances_exact: check.exact,
        cores: availableParallelism(),
      }),
    );
  } finally {
    server?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
