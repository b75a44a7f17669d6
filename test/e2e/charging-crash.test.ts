/**
 * End-to-end fault test of online charging: `tollgate serve` with Nchf on a SQLite file, driven
 * by concurrent data sessions, is killed with SIGKILL in the middle of the load and started again.
 * Then:
 * - no committed debit is lost: every update or release the server answered has its charge
 *   movement (reference = the reservation it committed);
 * - no reservation leaks: the sessions the crash left open expire after their validity
 *   (TOLLGATE_CHARGING_VALIDITY_SECONDS=2) and the restarted server's sweep releases them, so no
 *   balance holds anything and no reservation stays active;
 * - every balance equals the sum of its movements, and 100 EUR minus its charges.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type ClientHttp2Session } from 'node:http2';
import { FakeClock } from '../../src/kernel/clock.js';
import { openDatabase } from '../../src/storage/database.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { allMigrations } from '../../src/app/migrations.js';
import { loadDemoFiles } from '../../src/app/demo-files.js';
import { seedDemoIfEmpty } from '../../src/workflows/demo.js';
import { findTenant } from '../../src/workflows/tenants.js';
import { importCustomers, importRecordsFromCsv } from '../../src/workflows/customers.js';
import { createApiKey } from '../../src/workflows/api-keys.js';
import { ChargingEngine } from '../../src/workflows/charging.js';
import { SubscriberDirectory } from '../../src/workflows/usage-directory.js';
import * as chargingStore from '../../src/charging/store.js';
import { BIN, children, cleanUpAfterTests, dbPath, envFor, freshDir } from './harness.js';

cleanUpAfterTests();

const SUBSCRIBERS = 12;
const EUR = 1_000_000_000_000n;
const msisdn = (i: number): string => `4915177${String(i).padStart(6, '0')}`;

async function prepare(dir: string): Promise<{ key: string; tenantId: string; balances: string[] }> {
  const database = await openDatabase(`sqlite:${dbPath(dir)}`);
  await migrateToLatest(database, allMigrations);
  const clock = new FakeClock(new Date().toISOString());
  const deps = { database, clock };
  await seedDemoIfEmpty(deps, loadDemoFiles());
  const tenantId = (await findTenant(deps, 'demo'))!.id;
  const caller = { tenantId, actor: { type: 'system' as const, id: 'e2e' } };
  const header =
    'customerRef,customerName,customerType,email,phone,accountRef,accountName,currency,billCycleDay,timeZone,invoiceDelivery,ratingType,creditClass,creditLimit,costCentre,parentAccountRef,payerAccountRef,offerCode,subscriptionName,status,startDate,addOns,msisdn,imsi,iccid,sipUri,lineId,deviceId';
  const rows = [header];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    rows.push(
      `K-${i},Crash ${i},individual,,,KA-${i},Crash ${i},EUR,1,Europe/Berlin,email,prepaid,,,,,,MOBILE-POSTPAID-M,Crash ${i},active,2026-02-01T00:00:00Z,,${msisdn(i)},,,,,`,
    );
  }
  const report = await importCustomers(deps, caller, importRecordsFromCsv(`${rows.join('\n')}\n`), {
    atomic: true,
  });
  assert.equal(report.rejected, 0);
  const key = await createApiKey(deps, caller, { name: 'e2e smf', roles: ['network-element'] });
  const engine = new ChargingEngine({ database, clock });
  const directory = new SubscriberDirectory(database, tenantId);
  const balances: string[] = [];
  for (let i = 0; i < SUBSCRIBERS; i++) {
    await directory.preloadIdentity('msisdn', msisdn(i));
    const owner = directory.ownerAt('msisdn', msisdn(i), clock.nowMs())!;
    const id = `crash-${i}`;
    await engine.openBalance(tenantId, owner.account.id, 'EUR', {
      id,
      ownerKind: 'account',
      ownerId: owner.account.id,
      unit: 'money',
    });
    await engine.move(tenantId, owner.account.id, 'top_up', {
      balanceId: id,
      amount: 100n * EUR,
      reference: 'e2e',
    });
    balances.push(id);
  }
  await engine.close();
  await database.close();
  return { key: key.secret, tenantId, balances };
}

async function startServer(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], {
    cwd: dir,
    env: envFor(dir, {
      TOLLGATE_NCHF_ENABLED: 'true',
      TOLLGATE_NCHF_PORT: '0',
      TOLLGATE_CHARGING_VALIDITY_SECONDS: '2',
      TOLLGATE_CHARGING_SWEEP_SECONDS: '1',
      // The subscribers' plan has allowances; without grants every byte is charged to money.
      TOLLGATE_CHARGING_GRANT_SECONDS: '0',
      TOLLGATE_WEBHOOKS_ENABLED: 'false',
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let stderr = '';
  child.stdout!.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner in time:\n${stderr}`)), 60_000);
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      const match = /Nchf\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
      if (match !== null && stderr.includes('Press Ctrl+C to stop.')) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before its banner:\n${stderr}`));
    });
  });
}

function post(
  session: ClientHttp2Session,
  path: string,
  body: string,
  key: string,
): Promise<{ status: number; location: string | undefined }> {
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
const NF = '{"nodeFunctionality":"SMF","nFName":"5b0ae9b6-3c1e-4f55-9d3a-8f0a7c6e2d41"}';
const body = (subscriber: string, sequence: number, units: string): string =>
  `{"subscriberIdentifier":"msisdn-${subscriber}","nfConsumerIdentification":${NF},"invocationTimeStamp":"${new Date().toISOString()}","invocationSequenceNumber":${sequence},"multipleUnitUsage":[{"ratingGroup":10${units}}]}`;
const used = (bytes: number): string =>
  `,"usedUnitContainer":[{"quotaManagementIndicator":"ONLINE_CHARGING","totalVolume":${bytes},"localSequenceNumber":1}]`;

describe('e2e: online charging survives kill -9', () => {
  it('loses no answered debit, leaks no reservation, and every balance is its movements', async () => {
    const dir = freshDir();
    const prepared = await prepare(dir);
    const first = await startServer(dir);

    // Load: each worker runs sessions of create, update (3 MB used), release (1.25 MB used) until
    // the server dies. An answered update or release names the reservation it committed.
    const acknowledged: Array<{ balance: string; reservation: string }> = [];
    const connection = connect(`http://127.0.0.1:${first.port}`);
    connection.on('error', () => undefined);
    let stop = false;
    let answered = 0;
    const worker = async (w: number): Promise<void> => {
      for (let n = 0; !stop; n++) {
        const who = (w + n) % SUBSCRIBERS;
        try {
          const created = await post(
            connection,
            BASE,
            body(msisdn(who), 0, ',"requestedUnit":{}'),
            prepared.key,
          );
          if (created.status !== 201 || created.location === undefined) continue;
          answered++;
          const ref = created.location.slice(created.location.lastIndexOf('/') + 1);
          const updated = await post(
            connection,
            `${BASE}/${ref}/update`,
            body(msisdn(who), 1, `,"requestedUnit":{}${used(3_000_000)}`),
            prepared.key,
          );
          if (updated.status !== 200) continue;
          answered++;
          acknowledged.push({ balance: `crash-${who}`, reservation: `${ref}/0/10` });
          // Some sessions are left open on purpose: the crash must not leak their reservation.
          if (n % 3 === 2) continue;
          const released = await post(
            connection,
            `${BASE}/${ref}/release`,
            body(msisdn(who), 2, used(1_250_000)),
            prepared.key,
          );
          if (released.status !== 204) continue;
          answered++;
          acknowledged.push({ balance: `crash-${who}`, reservation: `${ref}/1/10` });
        } catch {
          return; // the server is gone
        }
      }
    };
    const load = Promise.all(Array.from({ length: 16 }, (_, w) => worker(w)));
    // Kill once a fair amount has been answered (and while requests are in flight).
    const deadline = Date.now() + 30_000;
    while (answered < 300 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    stop = true;
    await load;
    connection.destroy();
    assert.ok(acknowledged.length > 50, `only ${acknowledged.length} debits were answered before the kill`);

    // Restart: the sweep (every second) releases what the crash left open once its 2 s validity is
    // over. Wait for that, then stop the server cleanly.
    const second = await startServer(dir);
    await new Promise((resolve) => setTimeout(resolve, 4_500));
    second.child.kill('SIGTERM');
    await new Promise((resolve) => second.child.once('exit', resolve));

    const database = await openDatabase(`sqlite:${dbPath(dir)}`);
    try {
      const db = database.db;
      const active = await chargingStore.listReservations(db, prepared.tenantId, {
        status: 'active',
        limit: 1000,
      });
      assert.equal(
        active.length,
        0,
        `reservations still active: ${active.map((r) => r.reservation.id).join(', ')}`,
      );
      const charges = new Map<string, Set<string>>();
      for (const balanceId of prepared.balances) {
        const movements = await chargingStore.listMovements(db, prepared.tenantId, balanceId);
        const references = new Set<string>();
        let sum = 0n;
        let chargedCount = 0;
        for (const movement of movements) {
          sum += movement.amount;
          if (movement.kind === 'charge') {
            chargedCount++;
            references.add(movement.reference);
          }
        }
        // No reservation was charged twice.
        assert.equal(references.size, chargedCount, `${balanceId}: a reservation was charged twice`);
        charges.set(balanceId, references);
        const row = await chargingStore.findBalanceRow(db, prepared.tenantId, balanceId);
        assert.ok(row !== undefined, `${balanceId} is missing`);
        assert.equal(row.balance.amount, sum, `${balanceId}: stored ${row.balance.amount}, movements ${sum}`);
        assert.equal(row.balance.version, movements.length);
        assert.equal(row.balance.held, 0n, `${balanceId}: still holds ${row.balance.held}`);
      }
      for (const { balance, reservation } of acknowledged) {
        assert.ok(
          charges.get(balance)?.has(reservation),
          `the answered commit of ${reservation} has no charge movement on ${balance}`,
        );
      }
    } finally {
      await database.close();
    }
  });
});
