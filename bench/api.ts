/**
 * API throughput benchmark: `npm run bench:api`.
 *
 * Starts the real server as a child process (`node bin/tollgate.js serve --demo --port 0` on a
 * fresh SQLite database in a temporary directory), reads the demo admin key from its banner, and
 * drives it with autocannon from this process (so load generator and server are separate
 * processes):
 *
 *   get   authenticated GET /v1/tenant (authentication, access control, one tenant read)
 *   post  authenticated POST /v1/api-keys {name, roles: ['read-only']}: one transaction writing a
 *         key, an audit record and an outbox event (rows pile up, which is fine for a benchmark)
 *   bare  a bare node:http server, also a child process, answering the same bytes GET /v1/tenant
 *         returns: the ceiling this machine puts on any Node HTTP server
 *
 * Each scenario gets a warm-up run, then BENCH_RUNS measured runs (default 3); the medians are
 * reported. The get and bare runs alternate so that noise from other work on the machine falls on
 * both alike; the post runs come last, so the rows they create (and the webhook fan-out of their
 * events) cannot slow the read scenarios. Any non-2xx response, connection error or timeout, in
 * a warm-up run too, fails the benchmark (exit 1).
 *
 * Settings (environment): BENCH_DURATION_SEC (10), BENCH_WARMUP_SEC (2), BENCH_CONNECTIONS (50),
 * BENCH_RUNS (3), BENCH_LOG_LEVEL (warn: at the production default `info`, Fastify logs two
 * lines per request and the benchmark measures pino instead of the API).
 *
 * The last line of the output is one JSON object:
 *   {"bench":"api","get_rps":N,"post_rps":N,"p99_ms":N,"ratio_to_bare":R,"post_p99_ms":N,"bare_rps":N,"cores":N}
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// ---------------------------------------------------------------------------------------------
// autocannon (CommonJS, no type declarations): the part of its API used here
// ---------------------------------------------------------------------------------------------

interface Histogram {
  readonly average: number;
  readonly mean: number;
  readonly stddev: number;
  readonly min: number;
  readonly max: number;
  readonly total: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

interface AutocannonResult {
  readonly requests: Histogram;
  readonly latency: Histogram;
  readonly duration: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly non2xx: number;
  readonly '2xx': number;
  readonly statusCodeStats: Readonly<Record<string, { count: number }>>;
}

interface AutocannonOptions {
  readonly url: string;
  readonly connections: number;
  readonly duration: number;
  readonly method?: 'GET' | 'POST';
  readonly headers?: Record<string, string>;
  readonly body?: string;
  readonly timeout?: number;
}

const autocannon = createRequire(import.meta.url)('autocannon') as (
  options: AutocannonOptions,
) => Promise<AutocannonResult>;

// ---------------------------------------------------------------------------------------------
// Settings
// ---------------------------------------------------------------------------------------------

function intSetting(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < min) {
    console.error(`${name} must be a whole number >= ${min}, not ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return Number(raw);
}

const DURATION_SEC = intSetting('BENCH_DURATION_SEC', 10, 1);
const WARMUP_SEC = intSetting('BENCH_WARMUP_SEC', 2, 0);
const CONNECTIONS = intSetting('BENCH_CONNECTIONS', 50, 1);
const RUNS = intSetting('BENCH_RUNS', 3, 1);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL || 'warn';
const PAUSE_MS = 500;
const STARTUP_TIMEOUT_MS = 60_000;

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const BIN = join(ROOT, 'bin', 'tollgate.js');

// ---------------------------------------------------------------------------------------------
// Child processes
// ---------------------------------------------------------------------------------------------

const children = new Set<ChildProcess>();
let workDir: string | undefined;

function cleanUp(): void {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  workDir = undefined;
}

process.on('exit', cleanUp);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping the benchmark`);
    cleanUp();
    process.exit(130);
  });
}

interface Started {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** Spawns a child and waits until `ready` finds what it needs in its stdout or stderr. */
async function startChild<T>(
  label: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  ready: (stdout: string, stderr: string) => T | undefined,
): Promise<Started & { ready: T }> {
  const child = spawn(process.execPath, args, { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const output = () => `--- ${label} stderr ---\n${stderr}\n--- ${label} stdout ---\n${stdout}`;
  const value = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${label} was not ready within ${STARTUP_TIMEOUT_MS} ms\n${output()}`)),
      STARTUP_TIMEOUT_MS,
    );
    const check = () => {
      const found = ready(stdout, stderr);
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      // Keep only the head and tail of a chatty child, so a long run cannot grow memory.
      stdout = (stdout + chunk).slice(-64_000);
      check();
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-64_000);
      check();
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code ?? signal}) before it was ready\n${output()}`));
    });
  });
  return { child, exited, output, ready: value };
}

/** A bare node:http server answering every request with the given body; prints its port. */
const BARE_SERVER = `
const http = require('node:http');
const body = Buffer.from(process.env.BARE_BODY, 'utf8');
const headers = { 'content-type': 'application/json; charset=utf-8', 'content-length': body.length };
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, headers); res.end(body); });
});
server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

// ---------------------------------------------------------------------------------------------
// Measuring
// ---------------------------------------------------------------------------------------------

interface Scenario {
  readonly name: string;
  readonly label: string;
  readonly options: AutocannonOptions;
}

interface Measurement {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
}

const problems: string[] = [];

async function measure(scenario: Scenario, durationSec: number, what: string): Promise<Measurement> {
  const result = await autocannon({ ...scenario.options, duration: durationSec, timeout: 10 });
  const codes = Object.entries(result.statusCodeStats)
    .map(([code, { count }]) => `${code}:${count}`)
    .join(' ');
  if (result.non2xx > 0 || result.errors > 0 || result.timeouts > 0 || result['2xx'] === 0) {
    problems.push(
      `${scenario.name} ${what}: ${result.non2xx} non-2xx, ${result.errors} errors, ` +
        `${result.timeouts} timeouts, ${result['2xx']} 2xx (status codes ${codes || 'none'})`,
    );
  }
  return {
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result['2xx'],
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const pause = () => new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits });

function failIfProblems(): void {
  if (problems.length === 0) return;
  console.error('\nBENCHMARK FAILED: some requests did not succeed');
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  workDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
  const cores = availableParallelism();
  const build = existsSync(join(ROOT, 'dist', 'cli', 'main.js')) ? 'dist build' : 'sources through tsx';

  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('TOLLGATE_') && name !== 'DATABASE_URL') env[name] = value;
  }
  const server = await startChild(
    'tollgate serve',
    [BIN, 'serve', '--demo', '--port', '0'],
    {
      ...env,
      TOLLGATE_DATABASE_URL: `sqlite:${join(workDir, 'bench.db')}`,
      TOLLGATE_LOG_LEVEL: LOG_LEVEL,
    },
    (_out, err) => {
      if (!err.includes('Press Ctrl+C to stop.')) return undefined;
      const api = /^\s*API\s+(http:\/\/\S+)\/v1$/m.exec(err);
      const key = /Demo admin key \(tenant "demo"\): (\S+)/.exec(err);
      if (!api || !key) throw new Error(`cannot read the URL and demo key from the banner:\n${err}`);
      return { base: api[1]!, key: key[1]! };
    },
  );
  const { base, key } = server.ready;
  const auth = { authorization: `Bearer ${key}` };

  // One request of each kind first: a broken setup fails here with a clear message.
  const tenantResponse = await fetch(`${base}/v1/tenant`, { headers: auth });
  const tenantBody = await tenantResponse.text();
  if (tenantResponse.status !== 200)
    throw new Error(`GET /v1/tenant: ${tenantResponse.status} ${tenantBody}`);
  const postBody = JSON.stringify({ name: 'bench', roles: ['read-only'] });
  const postHeaders = { ...auth, 'content-type': 'application/json' };
  const probe = await fetch(`${base}/v1/api-keys`, { method: 'POST', headers: postHeaders, body: postBody });
  if (probe.status !== 201) throw new Error(`POST /v1/api-keys: ${probe.status} ${await probe.text()}`);
  await probe.arrayBuffer();

  const bare = await startChild(
    'bare node:http',
    ['-e', BARE_SERVER],
    { ...env, BARE_BODY: tenantBody },
    (out) => {
      const port = /^PORT (\d+)$/m.exec(out);
      return port ? `http://127.0.0.1:${port[1]}` : undefined;
    },
  );

  const scenarios = {
    get: {
      name: 'get',
      label: 'GET /v1/tenant (authenticated)',
      options: { url: `${base}/v1/tenant`, connections: CONNECTIONS, duration: DURATION_SEC, headers: auth },
    },
    post: {
      name: 'post',
      label: 'POST /v1/api-keys (authenticated, writes)',
      options: {
        url: `${base}/v1/api-keys`,
        connections: CONNECTIONS,
        duration: DURATION_SEC,
        method: 'POST',
        headers: postHeaders,
        body: postBody,
      },
    },
    bare: {
      name: 'bare',
      label: 'bare node:http, same JSON payload',
      options: { url: `${bare.ready}/v1/tenant`, connections: CONNECTIONS, duration: DURATION_SEC },
    },
  } satisfies Record<string, Scenario>;

  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  console.log(`Tollgate API benchmark (${new Date().toISOString()})`);
  console.log(
    `  machine      ${cores} cores available (os.availableParallelism), ${cpu}, Node ${process.version}`,
  );
  console.log(`  server       bin/tollgate.js serve --demo (${build}), SQLite in a temp dir, ${base}`);
  console.log(
    `  log level    ${LOG_LEVEL} (BENCH_LOG_LEVEL; the production default "info" logs two lines per request)`,
  );
  console.log(`  webhooks     dispatcher on (server default), no subscriptions`);
  console.log(
    `  load         autocannon in this process (separate from the server), ${CONNECTIONS} connections, ` +
      `${DURATION_SEC} s per run, ${WARMUP_SEC} s warm-up, median of ${RUNS} runs`,
  );
  console.log(`  payload      ${Buffer.byteLength(tenantBody)} bytes of JSON (GET /v1/tenant)`);
  console.log('');

  const runs: Record<keyof typeof scenarios, Measurement[]> = { get: [], post: [], bare: [] };
  const runOne = async (name: keyof typeof scenarios, index: number) => {
    const m = await measure(scenarios[name], DURATION_SEC, `run ${index + 1}`);
    runs[name].push(m);
    console.log(
      `  ${name.padEnd(4)} run ${index + 1}/${RUNS}: ${fmt(m.rps).padStart(7)} req/s  ` +
        `p50 ${fmt(m.p50, 1)} ms  p99 ${fmt(m.p99, 1)} ms  (${fmt(m.requests)} requests)`,
    );
    await pause();
  };

  if (WARMUP_SEC > 0) {
    console.log(`  warming up get and bare (${WARMUP_SEC} s each)`);
    await measure(scenarios.get, WARMUP_SEC, 'warm-up');
    await measure(scenarios.bare, WARMUP_SEC, 'warm-up');
    await pause();
  }
  for (let i = 0; i < RUNS; i++) {
    await runOne('get', i);
    await runOne('bare', i);
  }
  if (WARMUP_SEC > 0) {
    console.log(`  warming up post (${WARMUP_SEC} s)`);
    await measure(scenarios.post, WARMUP_SEC, 'warm-up');
    await pause();
  }
  for (let i = 0; i < RUNS; i++) await runOne('post', i);
  failIfProblems();

  const summary = (name: keyof typeof scenarios) => ({
    rps: median(runs[name].map((m) => m.rps)),
    p50: median(runs[name].map((m) => m.p50)),
    p99: median(runs[name].map((m) => m.p99)),
  });
  const get = summary('get');
  const post = summary('post');
  const bareSummary = summary('bare');
  const ratio = get.rps / bareSummary.rps;

  console.log('');
  console.log(`Medians of ${RUNS} runs, ${CONNECTIONS} connections, ${DURATION_SEC} s each, ${cores} cores:`);
  for (const name of ['get', 'post', 'bare'] as const) {
    const s = summary(name);
    console.log(
      `  ${scenarios[name].label.padEnd(42)} ${fmt(s.rps).padStart(7)} req/s   p50 ${fmt(s.p50, 1).padStart(5)} ms` +
        `   p99 ${fmt(s.p99, 1).padStart(5)} ms`,
    );
  }
  console.log(`  GET /v1/tenant reaches ${fmt(ratio * 100, 1)}% of the bare node:http rate (ratio_to_bare)`);

  // Stop the children before the verdict line: a failed graceful shutdown is worth knowing.
  bare.child.kill('SIGTERM');
  server.child.kill('SIGTERM');
  const [serverExit] = await Promise.all([server.exited, bare.exited]);
  if (serverExit.code !== 0) {
    console.error(`the server did not shut down cleanly: ${JSON.stringify(serverExit)}\n${server.output()}`);
  }

  console.log(
    JSON.stringify({
      bench: 'api',
      get_rps: Math.round(get.rps),
      post_rps: Math.round(post.rps),
      p99_ms: get.p99,
      ratio_to_bare: Number(ratio.toFixed(3)),
      post_p99_ms: post.p99,
      bare_rps: Math.round(bareSummary.rps),
      cores,
    }),
  );
}

main().then(
  () => {
    cleanUp();
  },
  (error: unknown) => {
    console.error(
      `BENCHMARK FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    cleanUp();
    process.exit(1);
  },
);
