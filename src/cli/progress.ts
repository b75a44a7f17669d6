/**
 * Progress of long jobs on stderr: a bar redrawn in place on a terminal, or a line with counts
 * and the rate every few seconds when stderr is a file or a pipe (CI logs, cron mail).
 */

export interface ProgressState {
  readonly done: number;
  readonly total: number;
  /** Named counters shown after the bar: records, rejects... */
  readonly counts: Readonly<Record<string, number>>;
  /** The counter the rate is computed from (records per second). */
  readonly rateOf: string;
}

export interface ProgressReporter {
  update(state: ProgressState): void;
  /** Draws the final state and ends the line. */
  finish(state?: ProgressState): void;
}

const BAR_WIDTH = 28;
const LINE_INTERVAL_MS = 2000;
const REDRAW_INTERVAL_MS = 100;

export function createProgress(
  label: string,
  stream: NodeJS.WriteStream = process.stderr,
  nowMs: () => number = () => performance.now(),
): ProgressReporter {
  const interactive = stream.isTTY === true;
  const started = nowMs();
  let lastDraw = -Infinity;
  let last: ProgressState | undefined;
  let lastDrawn: ProgressState | undefined;

  const render = (state: ProgressState): string => {
    const elapsedSec = Math.max((nowMs() - started) / 1000, 1e-3);
    const fraction = state.total > 0 ? Math.min(1, state.done / state.total) : 0;
    const filled = Math.round(fraction * BAR_WIDTH);
    const rate = Math.round((state.counts[state.rateOf] ?? 0) / elapsedSec);
    const counts = Object.entries(state.counts)
      .map(([name, value]) => `${name} ${value.toLocaleString('en-US')}`)
      .join(', ');
    const bar = interactive ? `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ` : '';
    return `${label} ${bar}${(fraction * 100).toFixed(1)}%  ${counts}  ${rate.toLocaleString('en-US')} ${state.rateOf}/s  ${elapsedSec.toFixed(1)} s`;
  };

  return {
    update(state) {
      last = state;
      const now = nowMs();
      if (now - lastDraw < (interactive ? REDRAW_INTERVAL_MS : LINE_INTERVAL_MS)) return;
      lastDraw = now;
      lastDrawn = state;
      stream.write(interactive ? `\r${render(state)}\u001b[K` : `${render(state)}\n`);
    },
    finish(state) {
      const final = state ?? last;
      if (final === undefined) return;
      // A log (not a terminal) already has the line when the last update was drawn.
      if (!interactive && final === lastDrawn) return;
      stream.write(interactive ? `\r${render(final)}\u001b[K\n` : `${render(final)}\n`);
    },
  };
}
