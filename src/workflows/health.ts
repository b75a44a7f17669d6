/** Readiness: the database answers and every migration has run. */
import { ping } from '../storage/database.js';
import { migrationStatus } from '../storage/migrate.js';
import { allMigrations } from '../app/migrations.js';
import type { WorkflowDeps } from './context.js';

export async function checkReadiness(deps: WorkflowDeps): Promise<{ ready: boolean; reason?: string }> {
  try {
    await ping(deps.database);
    const status = await migrationStatus(deps.database, allMigrations);
    const pending = status.filter((m) => m.executedAt === undefined).length;
    if (pending > 0) return { ready: false, reason: `${pending} database migrations have not run` };
    return { ready: true };
  } catch (error) {
    return { ready: false, reason: `database unavailable: ${(error as Error).message}` };
  }
}
