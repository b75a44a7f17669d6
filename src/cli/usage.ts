/**
 * `tollgate usage ...`: sources, imports with a progress bar and the control summary, rejects,
 * reprocessing, controls, rated usage and re-rating. Thin adapters over workflows/usage.ts.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { parse as parseYaml } from 'yaml';
import { CommonErrors, fail, isTollgateError } from '../kernel/errors.js';
import type { App } from '../app/container.js';
import type { Caller } from '../workflows/context.js';
import {
  correctReject,
  dailyControls,
  defineSource,
  discardReject,
  importUsageFile,
  listControls,
  listRejects,
  listSources,
  reprocessRejects,
  type ImportFileResult,
} from '../workflows/usage.js';
import { picoText } from '../rating/index.js';
import { UsageErrors } from '../usage/index.js';
import { explainUsage, listRatedUsage, rerateUsage } from '../workflows/usage-rating.js';
import { watchInbox } from '../workflows/usage-inbox.js';
import { reportError, table, type Output } from './output.js';
import { createProgress } from './progress.js';

export interface CliHelpers {
  withApp<T>(command: Command, work: (app: App, out: Output) => Promise<T>): Promise<T>;
  tenantCaller(app: App, tenant: string): Promise<Caller>;
}

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};

const bigId = (value: string): bigint => {
  if (!/^[0-9]{1,19}$/.test(value)) throw new InvalidArgumentError('must be a numeric id');
  return BigInt(value);
};

/** Errors that concern one file of `usage import FILES...`, not the command. */
const FILE_PROBLEMS: ReadonlySet<unknown> = new Set([
  UsageErrors.already_imported,
  UsageErrors.file_unreadable,
  UsageErrors.import_running,
  UsageErrors.import_interrupted,
]);

function isFileProblem(error: unknown): boolean {
  return isTollgateError(error) && FILE_PROBLEMS.has(error.definition);
}

function summary(result: ImportFileResult): string {
  const r = result.import;
  const lines = [
    `${result.resumed ? 'Resumed and completed' : 'Completed'} import ${r.id} of ${r.fileName} (${r.source}): ` +
      `${r.recordsIn} records in = ${r.rated} rated + ${r.rejected} rejected + ${r.duplicates} duplicates` +
      `${r.status === 'completed' ? ' (balanced)' : ` — ${r.status}: ${r.error ?? ''}`}`,
  ];
  if (result.controls.length > 0) {
    lines.push(
      table(
        result.controls.map((c) => ({
          day: c.eventDay,
          in: c.recordsIn,
          rated: c.rated,
          rejected: c.rejected,
          duplicates: c.duplicates,
        })),
        ['day', 'in', 'rated', 'rejected', 'duplicates'],
      ),
    );
  }
  if (r.rejected > 0) lines.push(`See the rejects with: tollgate usage rejects --import ${r.id}`);
  return lines.join('\n');
}

export function registerUsageCommands(program: Command, helpers: CliHelpers): void {
  const { withApp, tenantCaller } = helpers;
  const usage = program
    .command('usage')
    .description('usage mediation and rating: sources, imports, rejects, controls');

  const sources = usage
    .command('sources')
    .description('usage sources (switches, gateways, SBCs, RADIUS, API)');
  sources
    .command('set')
    .description('create or replace usage sources from a YAML or JSON file (one definition or a list)')
    .argument('<file>', 'source definitions, see docs/usage.md')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (file: string, o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        let text: string;
        try {
          text = readFileSync(file, 'utf8');
        } catch (error) {
          throw fail(
            CommonErrors.not_found,
            `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? ''}`,
            {
              field: 'FILE',
            },
          );
        }
        const parsed: unknown = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
        const list = Array.isArray(parsed) ? parsed : [parsed];
        const caller = await tenantCaller(app, o.tenant);
        const results: Array<Awaited<ReturnType<typeof defineSource>>> = [];
        for (const definition of list) results.push(await defineSource(app, caller, definition));
        out.result(
          results.map((r) => ({
            name: r.source.definition.name,
            format: r.source.definition.format,
            created: r.created,
          })),
          () =>
            results
              .map(
                (r) =>
                  `${r.created ? 'Created' : 'Updated'} source ${r.source.definition.name} (${r.source.definition.format}).`,
              )
              .join('\n'),
        );
      }),
    );
  sources
    .command('list')
    .description('list the usage sources')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const list = await listSources(app, caller.tenantId);
        out.result(
          list.map((s) => s.definition),
          () =>
            table(
              list.map((s) => ({
                name: s.definition.name,
                format: s.definition.format,
                timeZone: s.definition.timeZone,
                dedup: `${s.definition.dedup.mode}, ${s.definition.dedup.windowDays} d`,
                inbox: s.definition.inbox ?? '',
              })),
              ['name', 'format', 'timeZone', 'dedup', 'inbox'],
            ),
        );
      }),
    );

  usage
    .command('import')
    .description(
      'import usage files of one source: parse, validate, deduplicate, rate and store every record, with a ' +
        'progress bar and the control summary (records in = rated + rejected + duplicates); an interrupted ' +
        'import resumes where it stopped when run again',
    )
    .argument('<files...>', 'usage files')
    .requiredOption('--source <name>', 'the usage source the files come from')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--force', 'import a file again even though a file with the same checksum was imported')
    .option('--batch <records>', 'records per transaction', positiveInt)
    .action(
      async (
        files: string[],
        o: { source: string; tenant: string; force?: boolean; batch?: number },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const results: ImportFileResult[] = [];
          /** Exit code of the first file that could not be imported; the others are imported all the same. */
          let fileFailure: number | undefined;
          for (const file of files) {
            let progress = createProgress(`${file}:`);
            let resumedAfter: number | undefined;
            let result: ImportFileResult;
            try {
              result = await importUsageFile(app, caller, {
                source: o.source,
                path: file,
                force: o.force === true,
                ...(o.batch === undefined ? {} : { batchRecords: o.batch }),
                onProgress: (p) => {
                  if (resumedAfter === undefined && p.recordsBefore > 0) {
                    // The counts are the whole import's; the rate is of this run's records only,
                    // or a resumed import would show the earlier runs' records as read in seconds.
                    resumedAfter = p.recordsBefore;
                    progress = createProgress(
                      `${file} (resumed after ${p.recordsBefore.toLocaleString('en-US')} records):`,
                    );
                  }
                  const counts = { rated: p.rated, rejects: p.rejected, duplicates: p.duplicates };
                  progress.update({
                    done: p.bytesRead,
                    total: p.totalBytes,
                    counts:
                      resumedAfter === undefined
                        ? { records: p.recordsIn, ...counts }
                        : { records: p.recordsIn, 'records this run': p.recordsIn - resumedAfter, ...counts },
                    rateOf: resumedAfter === undefined ? 'records' : 'records this run',
                  });
                },
              });
            } catch (error) {
              progress.finish();
              // A problem of this one file (imported already, unreadable, of another format, being
              // imported elsewhere) does not stop the others: `usage import spool/*.csv` imports the
              // rest, and exits with the first such problem's code.
              if (files.length === 1 || !isFileProblem(error)) throw error;
              fileFailure ??= reportError(error, out.json);
              continue;
            }
            progress.finish();
            results.push(result);
            if (!out.json) out.result(result, () => summary(result));
          }
          if (out.json) out.result(files.length === 1 ? results[0] : results);
          if (results.some((r) => r.import.status !== 'completed')) process.exitCode = 70;
          else if (fileFailure !== undefined) process.exitCode = fileFailure;
        }),
    );

  usage
    .command('watch')
    .description("watch the source's inbox directory: import each new file, then move it to done/ or failed/")
    .requiredOption('--source <name>', 'the usage source (its definition names the inbox)')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--once', 'import what is in the inbox now, then stop')
    .option('--interval <seconds>', 'seconds between scans', positiveInt, 5)
    .action(
      async (o: { source: string; tenant: string; once?: boolean; interval: number }, command: Command) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const controller = new AbortController();
          const stop = (): void => controller.abort();
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          try {
            const report = await watchInbox(app, caller, {
              source: o.source,
              once: o.once === true,
              intervalMs: o.interval * 1000,
              signal: controller.signal,
              onFile: (event) => out.info(event),
            });
            out.result(
              report,
              () =>
                `Imported ${report.imported} files, ${report.duplicates} already imported, ${report.failed} failed` +
                `${report.retrying > 0 ? `, ${report.retrying} left in the inbox to retry` : ''}.`,
            );
          } finally {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
          }
        }),
    );

  const rejects = usage
    .command('rejects')
    .description('list rejected records (and duplicates) with their reason, field and raw record')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--status <status>', 'open, reprocessed or discarded', 'open')
    .option('--kind <kind>', 'reject or duplicate')
    .option('--reason <code>', 'reason code, e.g. unknown_subscriber')
    .option('--source <name>', 'usage source')
    .option('--import <id>', 'usage import id')
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .action(
      async (
        o: {
          tenant: string;
          status: string;
          kind?: string;
          reason?: string;
          source?: string;
          import?: string;
          limit: number;
        },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          if (!['open', 'reprocessed', 'discarded'].includes(o.status)) {
            throw fail(CommonErrors.invalid_input, '--status must be open, reprocessed or discarded', {
              field: '--status',
            });
          }
          if (o.kind !== undefined && !['reject', 'duplicate'].includes(o.kind)) {
            throw fail(CommonErrors.invalid_input, '--kind must be reject or duplicate', { field: '--kind' });
          }
          const list = await listRejects(app, caller.tenantId, {
            status: o.status as 'open',
            limit: o.limit,
            ...(o.kind === undefined ? {} : { kind: o.kind as 'reject' }),
            ...(o.reason === undefined ? {} : { reason: o.reason }),
            ...(o.source === undefined ? {} : { source: o.source }),
            ...(o.import === undefined ? {} : { importId: o.import }),
          });
          out.result(list, () =>
            table(
              list.map((r) => ({
                id: r.id,
                kind: r.kind,
                reason: r.reason,
                source: r.source,
                line: r.line,
                message: r.message,
              })),
              ['id', 'kind', 'reason', 'source', 'line', 'message'],
            ),
          );
        }),
    );
  // The subcommands share --tenant (and discard's --reason) with the listing command above, which
  // declares them too: commander hands such options to the parent, so read them from there.
  const sharedOption = (command: Command, name: 'tenant' | 'reason'): string => {
    const value = command.optsWithGlobals<Record<string, unknown>>()[name];
    if (typeof value !== 'string' || value === '') {
      throw fail(CommonErrors.invalid_input, `--${name} is required`, { field: `--${name}` });
    }
    return value;
  };
  rejects
    .command('correct')
    .description("replace an open reject's raw record with a corrected one (then run `usage reprocess`)")
    .argument('<id>', 'reject id', bigId)
    .requiredOption('--raw <record>', 'the corrected raw record (a CSV line, a JSON line, hex for BER)')
    .option('--tenant <slug>', 'tenant slug or id (required)')
    .action(async (id: bigint, o: { raw: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const tenant = sharedOption(command, 'tenant');
        const caller = await tenantCaller(app, tenant);
        const after = await correctReject(app, caller, id, o.raw);
        out.result(
          after,
          () => `Corrected reject ${id}; reprocess it with: tollgate usage reprocess --tenant ${tenant}`,
        );
      }),
    );
  rejects
    .command('discard')
    .description('close an open reject without rating it; it stays counted as rejected')
    .argument('<id>', 'reject id', bigId)
    .option('--reason <text>', 'why (required)')
    .option('--tenant <slug>', 'tenant slug or id (required)')
    .action(async (id: bigint, _o: unknown, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, sharedOption(command, 'tenant'));
        await discardReject(app, caller, id, sharedOption(command, 'reason'));
        out.result({ id, status: 'discarded' }, () => `Discarded reject ${id}.`);
      }),
    );

  usage
    .command('reprocess')
    .description(
      'run open rejects through mediation and rating again; rated ones move from rejected to rated',
    )
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--reason <code>', 'only rejects with this reason')
    .option('--kind <kind>', 'reject (default) or duplicate', 'reject')
    .option('--source <name>', 'only this source')
    .option('--import <id>', 'only this import')
    .option('--id <ids...>', 'only these reject ids')
    .option('--limit <n>', 'at most this many', positiveInt)
    .action(
      async (
        o: {
          tenant: string;
          reason?: string;
          kind: string;
          source?: string;
          import?: string;
          id?: string[];
          limit?: number;
        },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const result = await reprocessRejects(app, caller, {
            kind: o.kind === 'duplicate' ? 'duplicate' : 'reject',
            ...(o.reason === undefined ? {} : { reason: o.reason }),
            ...(o.source === undefined ? {} : { source: o.source }),
            ...(o.import === undefined ? {} : { importId: o.import }),
            ...(o.id === undefined ? {} : { ids: o.id.map(bigId) }),
            ...(o.limit === undefined ? {} : { limit: o.limit }),
          });
          out.result(
            result,
            () =>
              `Reprocessed ${result.attempted}: ${result.rated} rated, ${result.stillRejected} still rejected, ${result.duplicates} duplicates.`,
          );
        }),
    );

  usage
    .command('controls')
    .description('control counts per event day (or per import): records in = rated + rejected + duplicates')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--import <id>', 'one import, per event day')
    .option('--from <day>', 'first event day, YYYY-MM-DD')
    .option('--to <day>', 'last event day, YYYY-MM-DD')
    .action(async (o: { tenant: string; import?: string; from?: string; to?: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const filter = {
          ...(o.from === undefined ? {} : { fromDay: o.from }),
          ...(o.to === undefined ? {} : { toDay: o.to }),
        };
        if (o.import !== undefined) {
          const rows = await listControls(app, caller.tenantId, { ...filter, importId: o.import });
          out.result(rows, () =>
            table(
              rows.map((c) => ({
                day: c.eventDay,
                in: c.recordsIn,
                rated: c.rated,
                rejected: c.rejected,
                duplicates: c.duplicates,
              })),
              ['day', 'in', 'rated', 'rejected', 'duplicates'],
            ),
          );
          return;
        }
        const days = await dailyControls(app, caller.tenantId, filter);
        out.result(days, () =>
          table(
            days.map((c) => ({
              day: c.eventDay,
              in: c.recordsIn,
              rated: c.rated,
              rejected: c.rejected,
              duplicates: c.duplicates,
              balanced: c.balanced ? 'yes' : 'NO',
            })),
            ['day', 'in', 'rated', 'rejected', 'duplicates', 'balanced'],
          ),
        );
        if (days.some((d) => !d.balanced)) process.exitCode = 70;
      }),
    );

  usage
    .command('list')
    .description('list rated usage records')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--subscription <id>', 'one subscription')
    .option('--account <id>', 'one billing account')
    .option('--import <id>', 'one import')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .action(
      async (
        o: { tenant: string; subscription?: string; account?: string; import?: string; limit: number },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const rows = await listRatedUsage(app, caller.tenantId, {
            limit: o.limit,
            ...(o.subscription === undefined ? {} : { subscriptionId: o.subscription }),
            ...(o.account === undefined ? {} : { accountId: o.account }),
            ...(o.import === undefined ? {} : { importId: o.import }),
          });
          out.result(rows, () =>
            table(
              rows.map((r) => ({
                id: r.id,
                kind: r.kind,
                service: r.service,
                start: r.startAt,
                identity: r.identity,
                called: r.calledNumber ?? '',
                units: r.chargedUnits,
                amount: `${picoText(r.amountPico)} ${r.currency}`,
                zone: r.zone ?? '',
              })),
              ['id', 'kind', 'service', 'start', 'identity', 'called', 'units', 'amount', 'zone'],
            ),
          );
        }),
    );

  usage
    .command('explain')
    .description('explain one rated record: the charge trace and its formula, line by line')
    .argument('<id>', 'rated usage id', bigId)
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (id: bigint, o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const explanation = await explainUsage(app, caller.tenantId, id);
        out.result(explanation, () => explanation.lines.join('\n'));
      }),
    );

  usage
    .command('rerate')
    .description(
      're-rate usage of a subscription, an account or (neither given) a whole period against the catalog as it is now; differences are ' +
        'written as delta records (history is never rewritten); running it twice changes nothing the second time',
    )
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--subscription <id>', 'one subscription')
    .option('--account <id>', 'one billing account')
    .requiredOption('--from <instant>', 'start of the period (inclusive), e.g. 2026-11-01T00:00:00Z')
    .requiredOption('--to <instant>', 'end of the period (exclusive)')
    .action(
      async (
        o: { tenant: string; subscription?: string; account?: string; from: string; to: string },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const result = await rerateUsage(app, caller, {
            from: o.from,
            to: o.to,
            ...(o.subscription === undefined ? {} : { subscriptionId: o.subscription }),
            ...(o.account === undefined ? {} : { accountId: o.account }),
          });
          out.result(
            result,
            () =>
              `Re-rated ${result.examined} records: ${result.deltas} deltas written, ${result.unchanged} unchanged` +
              `${result.failed > 0 ? `, ${result.failed} could not be re-rated (left as they were)` : ''}; ` +
              `net change ${result.netChange.map((n) => `${picoText(n.amountPico)} ${n.currency}`).join(', ') || '0'}.`,
          );
        }),
    );
}
