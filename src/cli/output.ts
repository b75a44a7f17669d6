/** Output for people (aligned tables, plain lines) or scripts (--json), and error reporting. */
import { isTollgateError, ERROR_KINDS } from '../kernel/errors.js';

export interface Output {
  readonly json: boolean;
  /** Prints a result: JSON with --json, else the human rendering. */
  result(value: unknown, human?: () => string): void;
  info(line: string): void;
}

function stringify(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2);
}

export function createOutput(json: boolean, stdout = process.stdout, stderr = process.stderr): Output {
  return {
    json,
    result(value, human) {
      stdout.write(`${json || !human ? stringify(value) : human()}\n`);
    },
    info(line) {
      // Progress and notes go to stderr so stdout stays parseable.
      stderr.write(`${line}\n`);
    },
  };
}

export function table(rows: ReadonlyArray<Record<string, unknown>>, columns: readonly string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((row) =>
    columns.map((c) => (row[c] === undefined || row[c] === null ? '' : String(row[c]))),
  );
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** Prints an error and returns the exit code from the one error map (kernel/errors.ts). */
export function reportError(error: unknown, json: boolean, stderr = process.stderr): number {
  if (isTollgateError(error)) {
    if (json) {
      stderr.write(
        `${stringify({ code: error.code, detail: error.message, field: error.field, record: error.record, errors: error.errors })}\n`,
      );
    } else {
      const where = [error.field ? `field ${error.field}` : '', error.record ? `record ${error.record}` : '']
        .filter(Boolean)
        .join(', ');
      stderr.write(`error: ${error.message}${where ? ` (${where})` : ''} [${error.code}]\n`);
      if ((error.errors?.length ?? 0) > 1)
        for (const e of error.errors ?? [])
          if (e.message !== error.message) stderr.write(`  - ${e.field}: ${e.message}\n`);
    }
    return error.exitCode;
  }
  const message = error instanceof Error ? error.message : String(error);
  stderr.write(`error: ${message}\n`);
  return ERROR_KINDS.internal.exitCode;
}
