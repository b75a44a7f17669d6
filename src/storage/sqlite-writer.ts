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
 * The worker does not wait for the disk either. Its connection commits with synchronous=NORMAL
 * (COMMIT hands the WAL frames to the kernel and returns) and then syncs the WAL itself
 * (fdatasync, in libuv's thread pool) before it answers: a transaction's promise resolves only
 * once a sync that began after its COMMIT has returned, so an answer means durable exactly as
 * with FULL. Meanwhile the next transaction runs, and one sync covers every transaction that
 * committed while the one before it was in flight. Answers still leave in the order the
 * transactions came (a failed one after those before it, which wait for their sync). A failed
 * sync is fatal to the writer: what was committed since the last good sync may or may not be on
 * disk, so every transaction waiting for it is refused and nothing more is taken. (SQLite still
 * syncs the WAL before each checkpoint, the database file after it and the WAL header when the WAL
 * restarts, with NORMAL as with FULL.)
 *
 * The statements are compiled by the query builder on the main thread (bound parameters only);
 * the worker prepares each SQL text once and runs it with the parameters it is sent; each text is
 * sent once and then by number (see `encode`). A transaction either commits whole or not at all.
 *
 * Readers on the main connection see a transaction as soon as it commits (WAL: each read sees the
 * last commit), which may be a moment before it is durable: a reader must not tell the outside
 * world about a write it did not make and await. Both connections may write; SQLite serialises
 * them on its write lock (busy_timeout), so writes from the main connection stay correct, only
 * slower while a worker transaction holds the lock.
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
const { openSync, fdatasync, closeSync, realpathSync } = require('node:fs');
const Database = require(workerData.module);
const db = new Database(workerData.file);
db.defaultSafeIntegers(true);
db.pragma('journal_mode = WAL');
// NORMAL: COMMIT writes the transaction's frames to the WAL without waiting for the disk; the
// worker syncs the WAL itself (below) before it answers, so an answer still means durable, as
// with FULL, but the next transaction runs while the disk works, and one sync covers every
// transaction that committed before it began.
db.pragma('synchronous = NORMAL');
db.pragma('foreign_keys = ON');
db.pragma('busy_timeout = 10000');
// Statement journals (a multi-row upsert, a statement on a table with a foreign key) in memory
// rather than in a temporary file: they only ever undo one statement of the open transaction.
db.pragma('temp_store = MEMORY');
// The WAL exists once the connection has read the database (journal_mode above), beside the
// database file itself (SQLite follows symbolic links to it). This descriptor names the same file
// for as long as the connection is open: SQLite deletes a WAL only when the last connection
// closes, and this one holds its shared lock until close.
const walFd = openSync(realpathSync(workerData.file) + '-wal', 'r');
// Statements the sender has numbered (see SqliteBackgroundWriter.encode): its text comes once,
// with its number, and after that only the number.
const numbered = new Map();
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
// Answers of committed transactions wait for a sync of the WAL that began after their COMMIT:
// \`unsynced\` for the next sync, \`syncing\` for the one in flight. A failed sync is fatal: what
// was committed since the last good one may or may not be on disk, so nothing more is answered
// or written (the sender treats the writer as failed).
let unsynced = [];
let syncing = undefined;
let fatal = undefined;
let closing = undefined;
function syncThenAnswer() {
  if (syncing !== undefined || unsynced.length === 0) return;
  syncing = unsynced;
  unsynced = [];
  fdatasync(walFd, (error) => {
    const answers = syncing;
    syncing = undefined;
    if (error) {
      fatal = 'syncing the WAL failed: ' + (error.message || String(error));
      for (const answer of [...answers, ...unsynced]) {
        parentPort.postMessage({ id: answer.id, ok: false, message: fatal, code: 'TOLLGATE_WRITER_SYNC_FAILED', fatal: true });
      }
      unsynced = [];
    } else {
      for (const answer of answers) parentPort.postMessage(answer);
      syncThenAnswer();
    }
    if (closing !== undefined && syncing === undefined && unsynced.length === 0) close(closing);
  });
}
// Every answer to a transaction leaves in the order the transactions came: one that failed, or was
// refused, after those before it that wait for their sync (they are answered after that sync).
function answer(reply) {
  if (syncing === undefined && unsynced.length === 0) parentPort.postMessage(reply);
  else unsynced.push(reply);
}
function close(id) {
  db.close();
  closeSync(walFd);
  parentPort.postMessage({ id, ok: true });
}
parentPort.on('message', (message) => {
  // Numbers are learnt from every message, also one refused below: later ones send only them.
  if (message.statements !== undefined) {
    for (const { sql, number } of message.statements) {
      if (number !== undefined && sql !== undefined) numbered.set(number, { sql, statement: undefined });
    }
  }
  if (fatal !== undefined) {
    if (message.close) return close(message.id);
    parentPort.postMessage({ id: message.id, ok: false, message: fatal, code: 'TOLLGATE_WRITER_SYNC_FAILED', fatal: true });
    return;
  }
  if (message.close) {
    if (syncing === undefined && unsynced.length === 0) close(message.id);
    else closing = message.id;
    return;
  }
  if (message.reset) {
    poisoned = false;
    parentPort.postMessage({ id: message.id, ok: true });
    return;
  }
  if (poisoned) {
    answer({ id: message.id, ok: false, message: 'an earlier transaction failed', code: 'TOLLGATE_WRITER_POISONED' });
    return;
  }
  let begun = false;
  try {
    db.exec('begin immediate');
    begun = true;
    let rows;
    const last = message.statements.length - 1;
    message.statements.forEach(({ sql, number, parameters }, index) => {
      let statement;
      if (number === undefined) statement = prepare(sql);
      else {
        const entry = numbered.get(number);
        if (entry === undefined) throw new Error('statement ' + number + ' was never sent');
        statement = entry.statement ??= db.prepare(entry.sql);
      }
      if (message.returning && index === last && statement.reader) rows = statement.all(parameters);
      else statement.run(parameters);
    });
    db.exec('commit');
    unsynced.push({ id: message.id, ok: true, rows });
    syncThenAnswer();
  } catch (error) {
    poisoned = true;
    if (begun && db.inTransaction) {
      try { db.exec('rollback'); } catch {}
    }
    answer({
      id: message.id,
      ok: false,
      message: error && error.message ? error.message : String(error),
      code: error && error.code ? String(error.code) : undefined,
    });
  }
});
`;

/** Distinct SQL texts sent by number (see encode); each is a prepared statement in the worker. */
const MAX_NUMBERED = 2_000;

interface Pending {
  readonly resolve: (rows: unknown[] | undefined) => void;
  readonly reject: (error: Error) => void;
}

export class SqliteBackgroundWriter {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  /** SQL text → its number in the worker (see encode). */
  private readonly numbers = new Map<string, number>();
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
      (message: {
        id: number;
        ok: boolean;
        rows?: unknown[];
        message?: string;
        code?: string;
        fatal?: boolean;
      }) => {
        const waiter = this.pending.get(message.id);
        if (waiter === undefined) return;
        this.pending.delete(message.id);
        if (message.ok) waiter.resolve(message.rows);
        else {
          const error = new Error(`sqlite write failed: ${message.message ?? 'unknown error'}`);
          if (message.code !== undefined) (error as Error & { code?: string }).code = message.code;
          // A failed sync of the WAL: nothing written since the last good one is known to be on
          // disk, so the writer takes nothing more.
          if (message.fatal === true) this.failed ??= error;
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

  /**
   * The statements as sent to the worker. Copying a message to a thread costs about as much per
   * character as per value, and the SQL of a group's multi-row statements is as long as a good part
   * of their parameters, yet always one of a few hundred texts: each text gets a number the first
   * time it is sent (text and number together), and is sent as its number after that. Past
   * MAX_NUMBERED texts (SQL the caller builds with varying text), new ones go as text every time.
   * The numbers a message introduces are returned apart, and kept only once it was posted.
   */
  private encode(statements: readonly WriteStatement[]): {
    encoded: Array<{ sql?: string; number?: number; parameters: readonly unknown[] }>;
    introduced: Map<string, number>;
  } {
    const introduced = new Map<string, number>();
    const encoded = statements.map(({ sql, parameters }) => {
      const number = this.numbers.get(sql) ?? introduced.get(sql);
      if (number !== undefined) return { number, parameters };
      if (this.numbers.size + introduced.size >= MAX_NUMBERED) return { sql, parameters };
      const next = this.numbers.size + introduced.size;
      introduced.set(sql, next);
      return { sql, number: next, parameters };
    });
    return { encoded, introduced };
  }

  private send(statements: readonly WriteStatement[], returning: boolean): Promise<unknown[] | undefined> {
    if (this.failed !== undefined) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('the sqlite writer is closed'));
    const id = this.nextId++;
    return new Promise<unknown[] | undefined>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      // Keep the process alive while a transaction is on its way to the disk.
      this.worker.ref();
      const { encoded, introduced } = this.encode(statements);
      try {
        this.worker.postMessage({ id, statements: encoded, returning });
      } catch (error) {
        // A parameter that cannot be copied to the thread: nothing was sent, so the worker never
        // saw the numbers this message introduced, and they are not kept.
        this.pending.delete(id);
        if (this.pending.size === 0) this.worker.unref();
        reject(error);
        return;
      }
      for (const [sql, number] of introduced) this.numbers.set(sql, number);
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
