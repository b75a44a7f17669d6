/**
 * The end-to-end tests' harness: temporary folders, the CLI's environment, and running one
 * `tollgate` command to completion as a separate process. Children and folders are cleaned up
 * after the test file (call `cleanUpAfterTests` once per file).
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BIN = join(ROOT, 'bin', 'tollgate.js');

const tempDirs: string[] = [];
export const children = new Set<ChildProcess>();

export function freshDir(prefix = 'tollgate-e2e-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

export function dbPath(dir: string): string {
  return join(dir, 't.db');
}

/**
 * The environment of a child: the parent's, minus any TOLLGATE_* setting a developer may have
 * exported, plus the test database. TOLLGATE_FROM_SOURCE makes bin/tollgate.js run the sources
 * even when a stale dist/ build exists.
 */
export function envFor(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TOLLGATE_') && name !== 'DATABASE_URL') env[name] = value;
  }
  return {
    ...env,
    TOLLGATE_DATABASE_URL: `sqlite:${dbPath(dir)}`,
    TOLLGATE_LOG_LEVEL: 'warn',
    TOLLGATE_FROM_SOURCE: '1',
    ...extra,
  };
}

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one CLI command to completion. */
export function run(
  dir: string,
  args: readonly string[],
  options: { readonly env?: Record<string, string>; readonly timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      {
        cwd: dir,
        env: envFor(dir, options.env),
        timeout: options.timeoutMs ?? 60_000,
        maxBuffer: 64 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        children.delete(child);
        if (error && typeof error.code !== 'number') {
          reject(new Error(`tollgate ${args.join(' ')} failed to run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error ? (error.code as number) : 0, stdout, stderr });
      },
    );
    children.add(child);
  });
}

/** `what` of a run, for assertion messages. */
export function show(args: readonly string[], result: RunResult): string {
  return `tollgate ${args.join(' ')} -> ${result.code}\nstdout: ${result.stdout.slice(0, 4000)}\nstderr: ${result.stderr.slice(0, 4000)}`;
}

/** Kills leftover children and removes the temporary folders after the file's tests. */
export function cleanUpAfterTests(): void {
  after(() => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  });
}
