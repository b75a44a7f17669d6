import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { SqliteBackgroundWriter } from './sqlite-writer.js';

describe('storage: SQLite writer thread', () => {
  const open = () => {
    const dir = mkdtempSync(join(tmpdir(), 'tollgate-writer-'));
    const file = join(dir, 'w.db');
    const main = new BetterSqlite3(file);
    main.pragma('journal_mode = WAL');
    main.exec('create table t (id integer primary key, name text not null, amount integer)');
    return { dir, file, main };
  };

  it('commits a transaction that the main connection reads once the promise resolves', async () => {
    const { dir, file, main } = open();
    const writer = new SqliteBackgroundWriter(file);
    try {
      const writes = Array.from({ length: 20 }, (_, i) =>
        writer.write([
          {
            sql: 'insert into t (id, name, amount) values (?, ?, ?)',
            parameters: [i, `row ${i}`, 10n ** 15n + BigInt(i)],
          },
        ]),
      );
      await Promise.all(writes);
      const rows = main.prepare('select count(*) as n, sum(amount) as total from t').get() as {
        n: number;
        total: number;
      };
      assert.equal(rows.n, 20);
      main.defaultSafeIntegers(true);
      const exact = main.prepare('select amount from t where id = 19').get() as { amount: bigint };
      assert.equal(exact.amount, 10n ** 15n + 19n);
    } finally {
      await writer.close();
      main.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rolls the whole transaction back when one statement fails, refuses what was sent behind it, and serves again after reset', async () => {
    const { dir, file, main } = open();
    const writer = new SqliteBackgroundWriter(file);
    try {
      await assert.rejects(
        writer.write([
          { sql: 'insert into t (id, name) values (?, ?)', parameters: [1, 'kept?'] },
          { sql: 'insert into t (id, name) values (?, ?)', parameters: [2, null] },
        ]),
        /sqlite write failed: NOT NULL constraint failed: t\.name/,
      );
      assert.equal((main.prepare('select count(*) as n from t').get() as { n: number }).n, 0);
      // What was sent behind the failed transaction was built on it: refused until reset.
      await assert.rejects(
        writer.write([{ sql: 'insert into t (id, name) values (?, ?)', parameters: [4, 'built on it'] }]),
        /an earlier transaction failed/,
      );
      await writer.reset();
      await writer.write([{ sql: 'insert into t (id, name) values (?, ?)', parameters: [3, 'after'] }]);
      assert.deepEqual(main.prepare('select id from t').all(), [{ id: 3 }]);
    } finally {
      await writer.close();
      main.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('returns the rows of a last UPDATE ... RETURNING, in order with the writes before it', async () => {
    const { dir, file, main } = open();
    main.exec("insert into t (id, name, amount) values (1, 'counter', 100)");
    const writer = new SqliteBackgroundWriter(file);
    try {
      const take = (n: number) =>
        writer.query<{ amount: bigint }>([
          { sql: 'update t set amount = amount + ? where id = 1 returning amount', parameters: [n] },
        ]);
      const [first, second] = await Promise.all([take(10), take(5)]);
      assert.deepEqual(first, [{ amount: 110n }]);
      assert.deepEqual(second, [{ amount: 115n }]);
      assert.deepEqual(
        await writer.query([{ sql: 'insert into t (id, name) values (?, ?)', parameters: [2, 'x'] }]),
        [],
      );
    } finally {
      await writer.close();
      main.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('sends a statement text once: a text first sent with a refused transaction still serves later ones', async () => {
    const { dir, file, main } = open();
    const writer = new SqliteBackgroundWriter(file);
    const insert = 'insert into t (id, name, amount) values (?, ?, ?)';
    try {
      await assert.rejects(
        writer.write([{ sql: 'insert into t (id, name) values (?, ?)', parameters: [1, null] }]),
        /NOT NULL/,
      );
      // Its text goes with this transaction, which the writer refuses (it was sent after a failure).
      await assert.rejects(writer.write([{ sql: insert, parameters: [2, 'refused', 1] }]), /an earlier/);
      await writer.reset();
      // From here on the text goes by its number only.
      for (let i = 3; i < 6; i++) await writer.write([{ sql: insert, parameters: [i, `row ${i}`, i] }]);
      assert.deepEqual(
        main
          .prepare('select id from t order by id')
          .all()
          .map((row) => (row as { id: number }).id),
        [3, 4, 5],
      );
    } finally {
      await writer.close();
      main.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers a failed transaction after the ones before it, which wait for their sync', async () => {
    const { dir, file, main } = open();
    const writer = new SqliteBackgroundWriter(file);
    try {
      const settled: string[] = [];
      const note = (name: string, promise: Promise<void>) =>
        promise.then(
          () => settled.push(`${name} ok`),
          () => settled.push(`${name} failed`),
        );
      await Promise.all([
        note(
          'first',
          writer.write([{ sql: 'insert into t (id, name) values (?, ?)', parameters: [1, 'a'] }]),
        ),
        note(
          'second',
          writer.write([{ sql: 'insert into t (id, name) values (?, ?)', parameters: [2, null] }]),
        ),
        note(
          'third',
          writer.write([{ sql: 'insert into t (id, name) values (?, ?)', parameters: [3, 'c'] }]),
        ),
      ]);
      assert.deepEqual(settled, ['first ok', 'second failed', 'third failed']);
    } finally {
      await writer.close();
      main.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a parameter that cannot be copied to the thread, and sends that statement text again later', async () => {
    const { dir, file, main } = open();
    const writer = new SqliteBackgroundWriter(file);
    const insert = 'insert into t (id, name, amount) values (?, ?, ?)';
    try {
      await assert.rejects(
        writer.write([{ sql: insert, parameters: [1, () => 'not data', 1] }]),
        /could not be cloned/,
      );
      await writer.write([{ sql: insert, parameters: [2, 'copied', 2] }]);
      await writer.write([{ sql: insert, parameters: [3, 'by number', 3] }]);
      assert.equal((main.prepare('select count(*) as n from t').get() as { n: number }).n, 2);
    } finally {
      await writer.close();
      main.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('answers transactions that commit while the WAL is being synced, every one durable, in order', async () => {
    const { dir, file, main } = open();
    const writer = new SqliteBackgroundWriter(file);
    try {
      // Many transactions at once: the worker commits each and answers it after a sync of the WAL
      // that began after its COMMIT, one sync for all that committed while the previous ran.
      const answered: number[] = [];
      await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          writer
            .write([{ sql: 'insert into t (id, name) values (?, ?)', parameters: [i, `row ${i}`] }])
            .then(() => answered.push(i)),
        ),
      );
      assert.deepEqual(
        answered,
        Array.from({ length: 200 }, (_, i) => i),
      );
      assert.equal((main.prepare('select count(*) as n from t').get() as { n: number }).n, 200);
    } finally {
      await writer.close();
      main.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('syncs the WAL beside the real database file when it is opened through a symbolic link', async () => {
    const { dir, file, main } = open();
    const link = join(dir, 'link.db');
    symlinkSync(file, link);
    const writer = new SqliteBackgroundWriter(link);
    try {
      await writer.write([{ sql: 'insert into t (id, name) values (?, ?)', parameters: [1, 'linked'] }]);
      assert.equal((main.prepare('select count(*) as n from t').get() as { n: number }).n, 1);
      assert.equal(existsSync(`${link}-wal`), false);
    } finally {
      await writer.close();
      main.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses writes once closed', async () => {
    const { dir, file, main } = open();
    const writer = new SqliteBackgroundWriter(file);
    await writer.close();
    await assert.rejects(writer.write([]), /closed/);
    main.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
