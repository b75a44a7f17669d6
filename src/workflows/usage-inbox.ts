/**
 * A watched inbox per source: switches and mediation devices drop files into a directory; each new
 * file is imported (usage.ts) and moved to done/ when its import completes, or to failed/ (with a
 * `.error.txt` beside it saying why) when it cannot be imported.
 *
 * A file is taken only once it has stopped growing (same size and modification time on two scans
 * in a row) and when its name does not mark it as being written: hidden files (".x") and names
 * ending in .tmp or .part are left alone, which is how most transfer tools write. A file whose
 * checksum was already imported goes to done/ as well, with a note: it is a duplicate delivery,
 * and its records are in the database already.
 */
import { mkdir, readdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
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
  readonly imported: number;
  readonly failed: number;
}

const IN_PROGRESS = /(^\.)|(\.(tmp|part)$)/i;

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
  const report = { imported: 0, failed: 0 };
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
      try {
        const result = await importUsageFile(deps, caller, { source: source.name, path });
        const i = result.import;
        await rename(path, join(done, name));
        report.imported++;
        log(
          `${name}: ${i.recordsIn} records = ${i.rated} rated + ${i.rejected} rejected + ${i.duplicates} duplicates → done/`,
        );
      } catch (error) {
        if (isTollgateError(error) && error.definition === UsageErrors.already_imported) {
          await rename(path, join(done, name));
          await writeFile(join(done, `${name}.duplicate.txt`), `${error.message}\n`);
          log(`${name}: already imported → done/ (${error.message})`);
          continue;
        }
        const message = error instanceof Error ? error.message : String(error);
        await rename(path, join(failed, name));
        await writeFile(join(failed, `${name}.error.txt`), `${message}\n`);
        report.failed++;
        log(`${name}: failed → failed/ (${message})`);
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
