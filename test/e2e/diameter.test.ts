/**
 * End-to-end: `tollgate serve --demo` with the Diameter Gy/Ro server on an ephemeral port (read
 * from the banner), driven over TCP by the Diameter test client. Clara (demo, postpaid) has no
 * prepaid balance, so her data session is refused for credit (4012) end to end; a balance opened
 * and topped up through the API then reaches the starved session, and the server sends the client
 * a RAR for it; the CCR-U that follows gets quota. Capabilities exchange, watchdog and disconnect
 * work, and the server stops cleanly on SIGTERM.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connectDiameterClient } from '../../src/protocols/diameter/client.js';
import { numberValue, stringValue } from '../../src/protocols/diameter/codec.js';
import { ResultCode } from '../../src/protocols/diameter/result-codes.js';
import { BIN, children, cleanUpAfterTests, envFor, freshDir } from './harness.js';

const STARTUP_TIMEOUT_MS = 30_000;

cleanUpAfterTests();

describe('e2e: tollgate serve with Diameter Gy/Ro', () => {
  it('answers CER, DWR and a CCR-I/U/T session; a top-up of the starved session sends a RAR', async () => {
    const dir = freshDir();
    const child = spawn(process.execPath, [BIN, 'serve', '--demo', '--port', '0'], {
      cwd: dir,
      env: envFor(dir, {
        TOLLGATE_DIAMETER_ENABLED: 'true',
        TOLLGATE_DIAMETER_PORT: '0',
        TOLLGATE_DIAMETER_TENANT: 'demo',
        TOLLGATE_DIAMETER_ORIGIN_HOST: 'ocs.e2e.test',
        TOLLGATE_DIAMETER_ORIGIN_REALM: 'e2e.test',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.stdout!.resume();
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => {
        children.delete(child);
        resolve(code);
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner in time:\n${stderr}`)), STARTUP_TIMEOUT_MS);
      const check = () => {
        if (stderr.includes('Press Ctrl+C to stop.')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stderr!.on('data', check);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code}) before its banner:\n${stderr}`));
      });
    });
    const banner =
      /^\s*Diameter\s+Gy\/Ro on tcp 127\.0\.0\.1:(\d+) as ocs\.e2e\.test \(realm e2e\.test\) → tenant demo$/m.exec(
        stderr,
      );
    assert.ok(banner, `no Diameter line in the banner:\n${stderr}`);
    const apiBase = /^\s*API\s+(http:\/\/\S+)\/v1$/m.exec(stderr)?.[1];
    const adminKey = /Demo admin key \(tenant "demo"\): (\S+)/.exec(stderr)?.[1];
    assert.ok(
      apiBase !== undefined && adminKey !== undefined,
      `no API URL or demo key in the banner:\n${stderr}`,
    );
    const api = async (
      method: string,
      path: string,
      body?: unknown,
    ): Promise<{ status: number; body: unknown }> => {
      const response = await fetch(`${apiBase}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${adminKey}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return {
        status: response.status,
        body: await response.json(),
      };
    };

    const client = await connectDiameterClient({
      port: Number(banner[1]),
      originHost: 'pgw.e2e.test',
      originRealm: 'operator.test',
    });
    try {
      assert.equal(numberValue(client.capabilities!, 'Result-Code'), ResultCode.DIAMETER_SUCCESS);
      assert.equal(numberValue(await client.watchdog(), 'Result-Code'), ResultCode.DIAMETER_SUCCESS);

      // Clara Weber (demo) is a known subscriber with no prepaid balance: no grant, 4012.
      const session = {
        sessionId: 'pgw.e2e.test;1;1',
        serviceContextId: '32251@3gpp.org',
        subscriptionIds: [{ type: 'END_USER_E164' as const, data: '4915120000003' }],
      };
      const initial = await client.creditControl({
        ...session,
        requestType: 'INITIAL',
        requestNumber: 0,
        services: [{ ratingGroup: 10, requested: {} }],
      });
      assert.equal(initial.resultCode, ResultCode.DIAMETER_CREDIT_LIMIT_REACHED);
      assert.equal(initial.services[0]?.resultCode, ResultCode.DIAMETER_CREDIT_LIMIT_REACHED);
      assert.equal(initial.services[0]?.granted, undefined);

      const update = await client.creditControl({
        ...session,
        requestType: 'UPDATE',
        requestNumber: 1,
        services: [{ ratingGroup: 10, requested: {}, used: [{ totalOctets: 0n }] }],
      });
      assert.equal(update.resultCode, ResultCode.DIAMETER_CREDIT_LIMIT_REACHED);
      assert.equal(client.reAuthRequests.length, 0);

      // A balance for Clara's account, opened and topped up through the API: the credit reaches
      // the starved session and the server sends its client a RAR for rating group 10.
      const accounts = await api(
        'GET',
        `/tmf-api/accountManagement/v4/billingAccount?name=${encodeURIComponent('Clara Weber')}`,
      );
      assert.equal(accounts.status, 200, JSON.stringify(accounts.body));
      const opened = await api('POST', '/v1/charging/balances', {
        ownerKind: 'account',
        ownerId: (accounts.body as Array<{ id: string }>)[0]!.id,
        unitOfMeasure: 'money',
      });
      assert.equal(opened.status, 201, JSON.stringify(opened.body));
      const topUp = await api('POST', '/tmf-api/prepayBalanceManagement/v4/topupBalance', {
        bucket: { id: (opened.body as { id: string }).id },
        amount: { amount: '5.00', units: 'EUR' },
        paymentReference: 'e2e-diameter-topup',
      });
      assert.equal(topUp.status, 201, JSON.stringify(topUp.body));
      for (let waited = 0; client.reAuthRequests.length === 0 && waited < 5_000; waited += 20) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(client.reAuthRequests.length, 1, `no RAR after the top-up:\n${stderr}`);
      const rar = client.reAuthRequests[0]!;
      assert.equal(stringValue(rar, 'Session-Id'), session.sessionId);
      assert.equal(stringValue(rar, 'Destination-Host'), 'pgw.e2e.test');
      assert.equal(numberValue(rar, 'Re-Auth-Request-Type'), 0);
      assert.equal(numberValue(rar, 'Rating-Group'), 10);

      // As RFC 4006 section 5.5 asks, the client re-authorises with a CCR-U, which now gets quota.
      const reauthorised = await client.creditControl({
        ...session,
        requestType: 'UPDATE',
        requestNumber: 2,
        services: [{ ratingGroup: 10, requested: {}, used: [{ totalOctets: 0n }] }],
      });
      assert.equal(reauthorised.resultCode, ResultCode.DIAMETER_SUCCESS);
      assert.ok((reauthorised.services[0]?.granted?.totalOctets ?? 0n) > 0n);

      const terminate = await client.creditControl({
        ...session,
        requestType: 'TERMINATE',
        requestNumber: 3,
        services: [{ ratingGroup: 10, used: [{ totalOctets: 0n }] }],
      });
      assert.equal(terminate.resultCode, ResultCode.DIAMETER_SUCCESS);

      const stranger = await client.creditControl({
        ...session,
        sessionId: 'pgw.e2e.test;1;2',
        subscriptionIds: [{ type: 'END_USER_E164', data: '4915199999999' }],
        requestType: 'INITIAL',
        requestNumber: 0,
        services: [{ ratingGroup: 10, requested: {} }],
      });
      assert.equal(stranger.resultCode, ResultCode.DIAMETER_USER_UNKNOWN);

      assert.equal(numberValue(await client.disconnect(), 'Result-Code'), ResultCode.DIAMETER_SUCCESS);
    } finally {
      client.close();
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0, stderr);
  });
});
