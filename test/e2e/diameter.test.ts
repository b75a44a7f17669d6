/**
 * End-to-end: `tollgate serve --demo` with the Diameter Gy/Ro server on an ephemeral port (read
 * from the banner), driven over TCP by the Diameter test client. The demo opens no prepaid
 * balances, so Clara's data session is refused for credit (4012) end to end; capabilities
 * exchange, watchdog and disconnect work, and the server stops cleanly on SIGTERM.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connectDiameterClient } from '../../src/protocols/diameter/client.js';
import { numberValue } from '../../src/protocols/diameter/codec.js';
import { ResultCode } from '../../src/protocols/diameter/result-codes.js';
import { BIN, children, cleanUpAfterTests, envFor, freshDir } from './harness.js';

const STARTUP_TIMEOUT_MS = 30_000;

cleanUpAfterTests();

describe('e2e: tollgate serve with Diameter Gy/Ro', () => {
  it('answers CER, DWR and a CCR-I/U/T session for a demo subscriber without balance (4012)', async () => {
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

      const terminate = await client.creditControl({
        ...session,
        requestType: 'TERMINATE',
        requestNumber: 2,
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
