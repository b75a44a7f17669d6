/**
 * A second SQLite connection, in a worker thread, that runs whole write transactions off the
 * event loop.
 *
 * better-sqlite3 is synchronous: a COMMIT with synchronous=FULL waits for the WAL's fsync (1 to
 * 4 ms on the machines we measure on) with the event loop blocked, so a server that commits once
 * per event-loop turn (the charging engine's group commit) spends most of its time waiting for
 * the disk. Here the transaction runs in a worker: the main thread goes on reading requests and
 * building the next group while the disk works, and the groups grow by themselves when the disk is
 * slow (the classic group commit of a database server).
 *
 * The statements are compiled by the query builder on the main thread (bound parameters only);
 * the worker prepares each SQL text once and runs it with the parameters it is sent. A
 * transaction either commits whole or not at all; its promise resolves only once COMMIT has
 * returned, i.e. once the WAL is on disk.
 *
 * Readers on the main connection see a transaction as soon as it commits (WAL: each read sees the
 * last commit). Both connections may write; SQLite serialises them on its write lock
 * (busy_timeout), so writes from the main connection stay correct, only slower while a worker
 * transaction holds the lock.
 */
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';

export interface WriteStatement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/**
 * The worker's code, run with `eval` (CommonJS): it needs nothing but better-sqlite3, so it does
 * not depend on how the main program was loaded (compiled JavaScript or TypeScript through tsx).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.defaultSafeIntegers(true);
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 10000');
const statements = new Map();
function prepare(sql) {
  let statement = statements.get(sql);
  if (statement === undefined) {
    statement = db.prepare(sql);
    if (statements.size >= 500) statements.delete(statements.keys().next().value);
    statements.set(sql, statement);
  }
  return statement;
}
// After a failed transaction, the ones already sent behind it were built on what it would have
// written: they are refused, not run, until the sender says it has dropped that state (reset).
let poisoned = false;
parentPort.on('message', (message) => {
  if (message.close) {
    db.close();
    parentPort.postMessage({ id: message.id, ok: true });
    return;
  }
  if (message.reset) {
    poisoned = false;
    parentPort.postMessage({ id: message.id, ok: true });
    return;
  }
  if (poisoned) {
    parentPort.postMessage({ id: message.id, ok: false, message: 'an earlier transaction failed', code: 'TOLLGATE_WRITER_POISONED' });
    return;
  }
  let begun = false;
  try {
    db.exec('begin immediate');
    begun = true;
    let rows;
    const last = message.statements.length - 1;
    message.statements.forEach(({ sql, parameters }, index) => {
      const statement = prepare(sql);
      if (message.returning && index === last && statement.reader) rows = statement.all(parameters);
      else statement.run(parameters);
    });
    db.exec('commit');
    parentPort.postMessage({ id: message.id, ok: true, rows });
  } catch (error) {
    poisoned = true;
    if (begun && db.inTransaction) {
      try { db.exec('rollback'); } catch {}
    }
    parentPort.postMessage({
      id: message.id,
      ok: false,
      message: error && error.message ? error.message : String(error),
      code: error && error.code ? String(error.code) : undefined,
    });
  }
});
`;

interface Pending {
  readonly resolve: (rows: unknown[] | undefined) => void;
  readonly reject: (error: Error) => void;
}

export class SqliteBackgroundWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failed: Error | undefined;
  private closed = false;

  constructor(file: string) {
    const require = createRequire(import.meta.url);
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file, module: require.resolve('better-sqlite3') },
    });
    // The worker never keeps the process alive by itself; whoever writes awaits its answers.
    this.worker.unref();
    this.worker.on(
      'message',
      (message: { id: number; ok: boolean; rows?: unknown[]; message?: string; code?: string }) => {
        const waiter = this.pending.get(message.id);
        if (waiter === undefined) return;
        this.pending.delete(message.id);
        if (message.ok) waiter.resolve(message.rows);
        else {
          const error = new Error(`sqlite write failed: ${message.message ?? 'unknown error'}`);
          if (message.code !== undefined) (error as Error & { code?: string }).code = message.code;
          waiter.reject(error);
        }
        if (this.pending.size === 0) this.worker.unref();
      },
    );
    const fail = (error: Error): void => {
      this.failed = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (!this.closed) fail(new Error(`the sqlite writer thread stopped (exit code ${code})`));
    });
  }

  /** Runs the statements in one transaction; resolves once it is committed (durable). */
  async write(statements: readonly WriteStatement[]): Promise<void> {
    await this.send(statements, false);
  }

  /**
   * As `write`, and resolves with the rows the last statement returns (an UPDATE ... RETURNING,
   * say): for a read-modify-write that must be ordered with the writes (taking a block of ids).
   */
  async query<Row>(statements: readonly WriteStatement[]): Promise<Row[]> {
    return ((await this.send(statements, true)) ?? []) as Row[];
  }

  private send(statements: readonly WriteStatement[], returning: boolean): Promise<unknown[] | undefined> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('the sqlite writer is closed'));
    const id = this.nextId++;
    return new Promise<unknown[] | undefined>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Keep the process alive while a transaction is on its way to the disk.
      this.worker.ref();
      this.worker.postMessage({ id, statements, returning });
    });
  }

  /**
   * After a failed transaction the writer refuses every transaction sent after it (they were
   * built on its changes) until reset: call it once the state those were built on is dropped.
   * Transactions sent before the reset are refused; those sent after it run.
   */
  async reset(): Promise<void> {
    if (this.failed !== undefined || this.closed) return;
    const id = this.nextId++;
    await new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, reset: true });
    });
  }

  /** Waits for what was sent, closes the worker's connection and stops the thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.failed === undefined) {
      const id = this.nextId++;
      await new Promise<unknown>((resolve, reject) => {
        this.pending.set(id, { resolve, reject });
        this.worker.ref();
        this.worker.postMessage({ id, close: true });
      }).catch(() => undefined);
    }
    this.closed = true;
    await this.worker.terminate();
  }
}
