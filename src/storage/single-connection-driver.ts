/**
 * A Kysely driver for engines with one connection in this process (better-sqlite3, PGlite): the
 * connection sits behind a first-come, first-served lock, and a transaction holds the lock from
 * BEGIN to COMMIT, so queries from elsewhere in the process wait instead of interleaving with it.
 */
import { CompiledQuery, type DatabaseConnection, type Driver, type TransactionSettings } from 'kysely';

/** A first-come, first-served async lock. */
export class Mutex {
  private locked = false;
  private waiters: Array<() => void> = [];

  async lock(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  unlock(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.locked = false;
  }
}

export interface SingleConnection {
  /** Opens (or waits for) the engine and returns its one connection. */
  open(): Promise<DatabaseConnection>;
  close(): Promise<void>;
  /** The statement that starts a transaction (`begin immediate` on SQLite takes the write lock). */
  readonly beginStatement: string;
}

export class SingleConnectionDriver implements Driver {
  private readonly mutex = new Mutex();
  private connection!: DatabaseConnection;
  constructor(private readonly engine: SingleConnection) {}

  async init(): Promise<void> {
    this.connection = await this.engine.open();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    await this.mutex.lock();
    return this.connection;
  }
  async beginTransaction(connection: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(this.engine.beginStatement));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }
  async releaseConnection(): Promise<void> {
    this.mutex.unlock();
  }
  async destroy(): Promise<void> {
    await this.engine.close();
  }
}
