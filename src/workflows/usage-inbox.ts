/**
 * A watched inbox per source: switches and mediation devices drop files into a directory; each new
 * file is imported (usage.ts) and moved to done/ when its import completes, or to failed/ (with a
 * `.error.txt` beside it saying why) when it cannot be imported.
 *
 * A file is taken only once it has stopped growing (same size and modification time on two scans
 * in a row) and when its name does not mark it as being written: hidden files (".x") and names
 * ending in .tmp or .part are left alone, which is how most transfer tools write. A file whose
 * checksum was already imported goes to done/ as well, with a note: it is a duplicate delivery,
 * and its records are in the database already. A file of the same name already in done/ or failed/
 * is never replaced: the newcomer gets a number before its extension (`cdr.csv` → `cdr.1.csv`).
 *
 * A file that another process is importing, or whose import was interrupted by something other
 * than the file (the database busy or unreachable, the disk full), stays in the inbox: its
 * committed batches are kept and the next scan resumes it. Only a problem of the file itself (it
 * cannot be read, it is of another format) or an import whose controls do not balance sends it to
 * failed/.
 */
import { access, mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fail, isTollgateError } from '../kernel/errors.js';
import { UsageErrors } from '../usage/index.js';
import type { Caller, WorkflowDeps } from './context.js';
import { getSource, importUsageFile } from './usage.js';

export interface WatchOptions {
  readonly source: string;
  /** Scan once (files must already be complete), import, and return. */
  readonly once: boolean;
  readonly intervalMs: number;
  readonly signal?: AbortSignal;
  /** One line per event, for the operator's log. */
  readonly onFile?: (line: string) => void;
}

export interface WatchReport {
  /** Files imported and moved to done/. */
  readonly imported: number;
  /** Files imported before (the same checksum), moved to done/ with a note. */
  readonly duplicates: number;
  /** Files moved to failed/. */
  readonly failed: number;
  /** Files left in the inbox to be tried again (being imported elsewhere, or interrupted). */
  readonly retrying: number;
}

/**
 * A name for `name` in `directory` that no file there has yet: the name itself, else with a number
 * before the extension. Switches that reuse a file name every day must not replace yesterday's
 * file in done/.
 */
export async function freeName(directory: string, name: string): Promise<string> {
  const extension = extname(name);
  const stem = name.slice(0, name.length - extension.length);
  for (let n = 0; ; n++) {
    const candidate = n === 0 ? name : `${stem}.${n}${extension}`;
    const taken = await access(join(directory, candidate)).then(
      () => true,
      () => false,
    );
    if (!taken) return candidate;
  }
}

/** Moves `name` from the inbox to `directory` without replacing a file there; returns its new name. */
async function moveTo(inbox: string, name: string, directory: string): Promise<string> {
  const target = await freeName(directory, name);
  await rename(join(inbox, name), join(directory, target));
  return target;
}

const IN_PROGRESS = /(^\.)|(\.(tmp|part)$)/i;

/** Errors that are not the file's: it stays in the inbox, and the next scan tries it again. */
const RETRIED: ReadonlySet<unknown> = new Set([UsageErrors.import_running, UsageErrors.import_interrupted]);

export async function watchInbox(
  deps: WorkflowDeps,
  caller: Caller,
  options: WatchOptions,
): Promise<WatchReport> {
  const source = (await getSource(deps, caller.tenantId, options.source)).definition;
  if (source.inbox === undefined) {
    throw fail(
      UsageErrors.invalid_source,
      `source ${source.name} has no inbox directory; add "inbox" to its definition`,
      {
        field: 'inbox',
        record: source.name,
      },
    );
  }
  const inbox = source.inbox;
  const done = join(inbox, 'done');
  const failed = join(inbox, 'failed');
  await mkdir(done, { recursive: true });
  await mkdir(failed, { recursive: true });
  const seen = new Map<string, string>();
  const report = { imported: 0, duplicates: 0, failed: 0, retrying: 0 };
  const log = options.onFile ?? (() => undefined);
  const aborted = (): boolean => options.signal?.aborted === true;

  for (;;) {
    const names = (await readdir(inbox, { withFileTypes: true }))
      .filter((entry) => entry.isFile() && !IN_PROGRESS.test(entry.name))
      .map((entry) => entry.name)
      .sort();
    for (const name of names) {
      if (aborted()) break;
      const path = join(inbox, name);
      const info = await stat(path).catch(() => undefined);
      if (info === undefined) continue;
      const signature = `${info.size}:${info.mtimeMs}`;
      if (!options.once && seen.get(name) !== signature) {
        // Not yet known to be complete: look again on the next scan.
        seen.set(name, signature);
        continue;
      }
      seen.delete(name);
      const toFailed = async (message: string): Promise<void> => {
        const moved = await moveTo(inbox, name, failed);
        await writeFile(join(failed, `${moved}.error.txt`), `${message}\n`);
        report.failed++;
        log(`${name}: failed → failed/${moved === name ? '' : moved} (${message})`);
      };
      try {
        const result = await importUsageFile(deps, caller, { source: source.name, path });
        const i = result.import;
        const counts = `${i.recordsIn} records = ${i.rated} rated + ${i.rejected} rejected + ${i.duplicates} duplicates`;
        if (i.status !== 'completed') {
          // The records are stored, but the import is marked failed: someone must look at it.
          await toFailed(
            `import ${i.id}: ${counts}; ${i.status}: ${i.error ?? 'the controls do not balance'}`,
          );
          continue;
        }
        const moved = await moveTo(inbox, name, done);
        report.imported++;
        log(`${name}: ${counts} → done/${moved === name ? '' : moved}`);
      } catch (error) {
        if (isTollgateError(error) && error.definition === UsageErrors.already_imported) {
          const moved = await moveTo(inbox, name, done);
          await writeFile(join(done, `${moved}.duplicate.txt`), `${error.message}\n`);
          report.duplicates++;
          log(`${name}: already imported → done/${moved === name ? '' : moved} (${error.message})`);
          continue;
        }
        const message = error instanceof Error ? error.message : String(error);
        if (!isTollgateError(error) || RETRIED.has(error.definition)) {
          // Not the file's fault: what was committed stays, and the next scan resumes the import.
          report.retrying++;
          log(`${name}: interrupted, left in the inbox to retry (${message})`);
          continue;
        }
        await toFailed(message);
      }
    }
    if (options.once || aborted()) return report;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, options.intervalMs);
      options.signal?.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (aborted()) return report;
  }
}
