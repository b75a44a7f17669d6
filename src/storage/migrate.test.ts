import { it, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { openDatabase } from './database.js';
import { migrateToLatest } from './migrate.js';
import { allMigrations } from '../app/migrations.js';
import { DIALECTS, openTestDatabase } from '../testing/databases.js';

describe('migrations', () => {
  for (const dialect of DIALECTS) {
    it(`run once, and a second run finds nothing to do [${dialect}]`, async () => {
      const database = await openTestDatabase(dialect, { migrate: false });
      try {
        const first = await migrateToLatest(database, allMigrations);
        assert.equal(first.applied.length, allMigrations.length);
        const second = await migrateToLatest(database, allMigrations);
        assert.deepEqual(second.applied, []);
        assert.equal(second.alreadyApplied, allMigrations.length);
      } finally {
        await database.dispose();
      }
    });
  }

  it('serialise across processes starting together on a fresh SQLite file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-migrate-'));
    const url = `sqlite:${join(dir, 'race.db')}`;
    try {
      const script = `
        const { openDatabase } = await import(${JSON.stringify(new URL('./database.ts', import.meta.url).href)});
        const { migrateToLatest } = await import(${JSON.stringify(new URL('./migrate.ts', import.meta.url).href)});
        const { allMigrations } = await import(${JSON.stringify(new URL('../app/migrations.ts', import.meta.url).href)});
        const db = await openDatabase(process.env.URL);
        // Start together: every child waits for the same instant, so their migrations collide.
        await new Promise((r) => setTimeout(r, Math.max(0, Number(process.env.START_AT) - Date.now())));
        try { const r = await migrateToLatest(db, allMigrations); console.log(JSON.stringify({ applied: r.applied.length })); }
        catch (e) { console.log(JSON.stringify({ error: String(e && e.message) })); }
        finally { await db.close(); }
      `;
      const startAt = Date.now() + 4000;
      const runOne = () =>
        new Promise<{ applied?: number; error?: string }>((resolve, reject) => {
          const child = spawn(
            process.execPath,
            ['--import', 'tsx', '--input-type=module', '--eval', script],
            {
              env: { ...process.env, URL: url, START_AT: String(startAt) },
              stdio: ['ignore', 'pipe', 'inherit'],
            },
          );
          let output = '';
          child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
          child.on('error', reject);
          child.on('exit', () => {
            const line = output.trim().split('\n').pop();
            if (!line) reject(new Error('the child printed nothing'));
            else resolve(JSON.parse(line) as { applied?: number; error?: string });
          });
        });
      const results = await Promise.all([runOne(), runOne(), runOne()]);
      assert.deepEqual(
        results.map((r) => r.error),
        [undefined, undefined, undefined],
      );
      assert.equal(
        results.reduce((sum, r) => sum + (r.applied ?? 0), 0),
        allMigrations.length,
        'every migration ran exactly once across the processes',
      );
      const database = await openDatabase(url);
      await database.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
