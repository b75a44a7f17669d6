/**
 * End-to-end: `tollgate serve --demo` with Nchf on an ephemeral port, and `tollgate nchf demo`
 * opening charging sessions against it for the demo's prepaid subscribers over HTTP/2. Every
 * session is granted, updated and released, and the data buckets pay for exactly what was used.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { BIN, children, cleanUpAfterTests, envFor, freshDir, run, show } from './harness.js';

cleanUpAfterTests();

describe('e2e: tollgate nchf demo against tollgate serve --demo', () => {
  it('opens sessions for the prepaid subscribers and their buckets pay for the usage', async () => {
    const dir = freshDir();
    const env = {
      TOLLGATE_NCHF_ENABLED: 'true',
      TOLLGATE_NCHF_PORT: '0',
      TOLLGATE_WEBHOOKS_ENABLED: 'false',
    };
    const child = spawn(process.execPath, [BIN, 'serve', '--demo', '--port', '0'], {
      cwd: dir,
      env: envFor(dir, env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    child.stdout!.resume();
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no banner in time:\n${stderr}`)), 60_000);
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
        stderr += chunk;
        const match = /Nchf\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(stderr);
        if (match !== null && stderr.includes('Press Ctrl+C to stop.')) {
          clearTimeout(timer);
          resolve(Number(match[1]));
        }
      });
      child.once('exit', (code) => reject(new Error(`the server exited (${code}):\n${stderr}`)));
    });
    try {
      const args = [
        'nchf',
        'demo',
        '--url',
        `http://127.0.0.1:${port}`,
        '--sessions',
        '2',
        '--used-mb',
        '8',
        '--json',
      ];
      const result = await run(dir, args, { env });
      assert.equal(result.code, 0, show(args, result));
      const report = JSON.parse(result.stdout) as {
        sessions: Array<{ msisdn: string; step: string; status: number }>;
        balances: Array<{ balance: string; owner: string; available: string; movements: number }>;
      };
      const subscribers = new Set(report.sessions.map((s) => s.msisdn));
      assert.ok(subscribers.size >= 2, `sessions for ${subscribers.size} subscribers`);
      assert.equal(report.sessions.length, subscribers.size * 2 * 3);
      for (const step of report.sessions) {
        const expected = { create: 201, update: 200, release: 204 }[step.step];
        assert.equal(step.status, expected, JSON.stringify(step));
      }
      // Each subscriber's 5 GB bucket paid 2 sessions × 8 MB.
      const buckets = report.balances.filter((b) => b.owner.startsWith('subscription ') && b.movements > 1);
      assert.equal(buckets.length, subscribers.size);
      for (const bucket of buckets) assert.equal(bucket.available, `${5_000_000_000 - 16_000_000} byte`);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
