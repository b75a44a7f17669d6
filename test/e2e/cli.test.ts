/**
 * End-to-end tests of the `tollgate` command: every test runs the real CLI (`node bin/tollgate.js`)
 * as a child process against a SQLite database in a fresh temporary directory, and talks to the
 * real HTTP server over 127.0.0.1 only, on ports the system picks (`--port 0`, the URL is read from
 * the banner on stderr).
 *
 * Starting the CLI through tsx costs about a second, so each test batches its assertions per
 * process and runs independent processes side by side.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SIGNATURE_HEADER, verifySignature } from '../../src/events/index.js';
import { BIN, children, cleanUpAfterTests, dbPath, envFor, freshDir, run, show } from './harness.js';

const STARTUP_TIMEOUT_MS = 30_000;

// ---------------------------------------------------------------------------------------------
// Harness (shared with the other end-to-end tests: harness.ts)
// ---------------------------------------------------------------------------------------------

cleanUpAfterTests();

interface RunningServer {
  readonly child: ChildProcess;
  readonly base: string;
  readonly docs: string;
  readonly demoKey: string | undefined;
  readonly banner: string;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `tollgate serve --port 0 ...` and waits for its banner. */
async function startServer(
  dir: string,
  args: readonly string[],
  extraEnv: Record<string, string> = {},
): Promise<RunningServer> {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', ...args], {
    cwd: dir,
    env: envFor(dir, extraEnv),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stderr = '';
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`the server printed no banner in ${STARTUP_TIMEOUT_MS} ms:\n${stderr}\n${stdout}`));
    }, STARTUP_TIMEOUT_MS);
    const check = () => {
      if (stderr.includes('Press Ctrl+C to stop.')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code ?? signal}) before its banner:\n${stderr}\n${stdout}`));
    });
    check();
  });
  const api = /^\s*API\s+(http:\/\/\S+)\/v1$/m.exec(stderr);
  const docs = /^\s*Docs\s+(http:\/\/\S+\/docs)\b/m.exec(stderr);
  const key = /Demo admin key \(tenant "demo"\): (\S+)/.exec(stderr);
  assert.ok(api, `no API URL in the banner:\n${stderr}`);
  assert.ok(docs, `no Docs URL in the banner:\n${stderr}`);
  return {
    child,
    base: api[1]!,
    docs: docs[1]!,
    demoKey: key?.[1],
    banner: stderr,
    output: () => `stderr:\n${stderr}\nstdout:\n${stdout}`,
    exited,
  };
}

/** Waits for the server to exit; fails when it takes longer than `withinMs`. */
function exitOf(server: RunningServer, withinMs: number) {
  return Promise.race([
    server.exited,
    delay(withinMs).then(() => {
      throw new Error(`the server did not exit within ${withinMs} ms of SIGTERM\n${server.output()}`);
    }),
  ]);
}

/** Sends SIGTERM (once: a second one ends the process at once) and waits for the exit. */
function stopServer(server: RunningServer, withinMs = 5_000) {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGTERM');
  return exitOf(server, withinMs);
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface ApiResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
}

async function api(
  server: RunningServer,
  method: string,
  path: string,
  options: { key?: string; body?: unknown } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, headers: response.headers, body };
}

interface CreatedKey {
  key: { id: string; name: string; roles: string[]; status: string; tenantId?: string };
  secret: string;
}

// ---------------------------------------------------------------------------------------------
// serve --demo
// ---------------------------------------------------------------------------------------------

describe('tollgate serve --demo', { timeout: 90_000 }, () => {
  let dir: string;
  let server: RunningServer;
  let demoKey: string;

  before(async () => {
    dir = freshDir();
    server = await startServer(dir, ['--demo'], { TOLLGATE_WEBHOOK_POLL_MS: '100' });
  });
  after(async () => {
    if (server) await stopServer(server).catch(() => server.child.kill('SIGKILL'));
  });

  it('starts, seeds the demo, and prints the API and Docs URLs and a demo admin key', async () => {
    assert.match(
      server.banner,
      /Seeded the demo: tenants "demo" and "demo-brand", 3 API keys, 8 offers, 39 subscriptions from 40 customer rows\./,
    );
    assert.match(server.base, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(server.docs, `${server.base}/docs`);
    assert.match(server.demoKey ?? '', /^tgk_[0-9A-Z]{26}_[A-Za-z0-9_-]{20,}$/);
    demoKey = server.demoKey!;
    // The key is kept beside the database so a restart can print it again.
    assert.equal(readFileSync(join(dir, 'demo-admin.key'), 'utf8').trim(), demoKey);

    const [health, openapi, docs] = await Promise.all([
      api(server, 'GET', '/healthz'),
      api(server, 'GET', '/openapi.json'),
      fetch(server.docs),
    ]);
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    assert.equal(openapi.status, 200);
    assert.equal((openapi.body as { openapi: string }).openapi, '3.1.0');
    assert.equal(docs.status, 200, 'the Docs URL answers');
    await docs.arrayBuffer();
  });

  it('GET /v1/tenant is 200 with the demo key and 401 without it', async () => {
    const [withKey, without, wrong] = await Promise.all([
      api(server, 'GET', '/v1/tenant', { key: demoKey }),
      api(server, 'GET', '/v1/tenant'),
      api(server, 'GET', '/v1/tenant', { key: `${demoKey.slice(0, -4)}AAAA` }),
    ]);
    assert.equal(withKey.status, 200);
    assert.equal((withKey.body as { slug: string }).slug, 'demo');
    assert.equal(without.status, 401);
    assert.match(without.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal((without.body as { code: string }).code, 'access.missing_credentials');
    assert.equal(wrong.status, 401, 'a key with a wrong secret is refused');
    assert.equal((wrong.body as { code: string }).code, 'access.invalid_credentials');
  });

  it('POST /v1/api-keys creates a key that then works, with the roles it was given', async () => {
    const created = await api(server, 'POST', '/v1/api-keys', {
      key: demoKey,
      body: { name: 'dashboard', roles: ['read-only'] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const { key, secret } = created.body as CreatedKey;
    assert.equal(created.headers.get('location'), `/v1/api-keys/${key.id}`);
    assert.deepEqual(key.roles, ['read-only']);
    assert.notEqual(secret, demoKey);

    const [read, write] = await Promise.all([
      api(server, 'GET', '/v1/tenant', { key: secret }),
      api(server, 'POST', '/v1/api-keys', { key: secret, body: { name: 'x', roles: ['admin'] } }),
    ]);
    assert.equal(read.status, 200);
    assert.equal((read.body as { slug: string }).slug, 'demo');
    assert.equal(write.status, 403, 'a read-only key cannot create keys');
  });

  it('delivers api_key.created to a webhook subscriber, signed with the subscription secret', async () => {
    const deliveries: Array<{ headers: IncomingHttpHeaders; body: Buffer }> = [];
    let notify: () => void = () => undefined;
    const receiver: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        deliveries.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(204).end();
        notify();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const port = (receiver.address() as AddressInfo).port;
      const subscribed = await api(server, 'POST', '/v1/webhook-subscriptions', {
        key: demoKey,
        body: { url: `http://127.0.0.1:${port}/hooks/tollgate`, eventTypes: ['api_key.created'] },
      });
      assert.equal(subscribed.status, 201, JSON.stringify(subscribed.body));
      const { secret: signingSecret } = subscribed.body as { secret: string };
      assert.ok(signingSecret.length >= 16);

      const created = await api(server, 'POST', '/v1/api-keys', {
        key: demoKey,
        body: { name: 'webhook trigger', roles: ['finance'] },
      });
      assert.equal(created.status, 201);
      const keyId = (created.body as CreatedKey).key.id;

      const mine = () =>
        deliveries.find(
          (d) => (JSON.parse(d.body.toString('utf8')) as { entity: { id: string } }).entity.id === keyId,
        );
      const deadline = Date.now() + 10_000;
      while (!mine() && Date.now() < deadline) {
        await Promise.race([new Promise<void>((resolve) => (notify = resolve)), delay(250)]);
      }
      const delivery = mine();
      assert.ok(
        delivery,
        `no delivery for ${keyId} within 10 s (got ${deliveries.length})\n${server.output()}`,
      );

      const nowSec = Math.floor(Date.now() / 1000);
      const signature = delivery.headers[SIGNATURE_HEADER.toLowerCase()];
      assert.equal(typeof signature, 'string');
      assert.ok(
        verifySignature(signature as string, delivery.body, signingSecret, nowSec),
        'signature verifies',
      );
      assert.ok(
        !verifySignature(signature as string, delivery.body, `${signingSecret}x`, nowSec),
        'another secret does not verify',
      );
      assert.ok(
        !verifySignature(
          signature as string,
          Buffer.concat([delivery.body, Buffer.from(' ')]),
          signingSecret,
          nowSec,
        ),
        'a changed body does not verify',
      );
      assert.equal(delivery.headers['tollgate-event-type'], 'api_key.created');
      assert.match(delivery.headers['content-type'] ?? '', /^application\/json/);
      const payload = JSON.parse(delivery.body.toString('utf8')) as {
        type: string;
        entity: { type: string; id: string };
        data: { id: string; name: string; secret?: unknown };
      };
      assert.equal(payload.type, 'api_key.created');
      assert.deepEqual(payload.entity, { type: 'api_key', id: keyId });
      assert.equal(payload.data.name, 'webhook trigger');
      assert.equal(payload.data.secret, undefined, 'the event never carries the key secret');
      assert.ok(
        !delivery.body.toString('utf8').includes('tgk_' + keyId.slice(4) + '_'),
        'no secret in the body',
      );
    } finally {
      receiver.closeAllConnections();
      await new Promise<void>((resolve) => receiver.close(() => resolve()));
    }
  });

  it('on SIGTERM finishes the request in flight and exits with code 0 within a few seconds', async () => {
    // A POST whose headers have arrived but whose body has not: in flight when the signal lands.
    const body = JSON.stringify({ name: 'in flight at shutdown', roles: ['read-only'] });
    const target = new URL(`${server.base}/v1/api-keys`);
    let send: (rest: string) => void = () => undefined;
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname,
          method: 'POST',
          agent: false,
          headers: {
            authorization: `Bearer ${demoKey}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      send = (rest) => req.end(rest);
    });
    await delay(750); // let the server parse the headers and start the request

    const signalledAt = Date.now();
    server.child.kill('SIGTERM');
    await delay(500);
    assert.equal(server.child.exitCode, null, 'the server waits for the request in flight');
    send(body.slice(10));

    const answered = await response;
    assert.equal(answered.status, 201, answered.body);
    assert.equal((JSON.parse(answered.body) as CreatedKey).key.name, 'in flight at shutdown');

    const exit = await exitOf(server, 5_000);
    assert.deepEqual(exit, { code: 0, signal: null }, server.output());
    assert.ok(Date.now() - signalledAt < 5_000, 'exited within 5 s of SIGTERM');
    assert.doesNotMatch(server.output(), /"level":(50|60)/, 'no error logged during shutdown');
  });

  it('restarted on the same database, does not seed again and prints the same demo key', async () => {
    const again = await startServer(dir, ['--demo']);
    try {
      assert.doesNotMatch(again.banner, /Seeded/);
      assert.equal(again.demoKey, demoKey);
      const tenant = await api(again, 'GET', '/v1/tenant', { key: demoKey });
      assert.equal(tenant.status, 200);
      // The key created in flight during the last shutdown was committed.
      const keys = await api(again, 'GET', '/v1/api-keys?limit=100', { key: demoKey });
      assert.equal(keys.status, 200);
      const names = (keys.body as { items: Array<{ name: string }> }).items.map((k) => k.name);
      assert.ok(names.includes('in flight at shutdown'), names.join(', '));
    } finally {
      assert.deepEqual(await stopServer(again), { code: 0, signal: null }, again.output());
    }
    const db = new Database(dbPath(dir), { readonly: true });
    try {
      const { n } = db.prepare('select count(*) as n from tenants').get() as { n: number };
      assert.equal(n, 2, 'still just the two demo tenants');
    } finally {
      db.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// tenants and keys
// ---------------------------------------------------------------------------------------------

describe('tollgate tenants and keys', { timeout: 90_000 }, () => {
  it('tenants create, keys create --json (its secret works on a running server), keys revoke, keys list', async () => {
    const dir = freshDir();
    const createTenant = [
      'tenants',
      'create',
      '--slug',
      'acme',
      '--name',
      'Acme Mobile',
      '--currency',
      'GBP',
    ];
    const tenant = await run(dir, createTenant);
    assert.equal(tenant.code, 0, show(createTenant, tenant));
    assert.match(tenant.stdout, /^Created tenant acme \(ten_[0-9A-Z]{26}\)\.$/m);

    const createAdmin = ['keys', 'create', '--tenant', 'acme', '--name', 'ops', '--role', 'admin', '--json'];
    const admin = await run(dir, createAdmin);
    assert.equal(admin.code, 0, show(createAdmin, admin));
    const adminKey = JSON.parse(admin.stdout) as CreatedKey;
    assert.deepEqual(adminKey.key.roles, ['admin']);
    assert.equal(adminKey.key.status, 'active');
    assert.match(adminKey.secret, /^tgk_/);

    let otherKey: CreatedKey;
    const server = await startServer(dir, []);
    try {
      assert.equal(server.demoKey, undefined, 'no demo key without --demo');
      const mine = await api(server, 'GET', '/v1/tenant', { key: adminKey.secret });
      assert.equal(mine.status, 200, JSON.stringify(mine.body));
      assert.equal((mine.body as { slug: string }).slug, 'acme');
      assert.equal((mine.body as { settings: { defaultCurrency: string } }).settings.defaultCurrency, 'GBP');

      // A second key, made through the API and never presented (so the server has not cached it),
      // revoked by the CLI in another process while the server runs: refused at once.
      const made = await api(server, 'POST', '/v1/api-keys', {
        key: adminKey.secret,
        body: { name: 'bi', roles: ['read-only', 'finance'] },
      });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      otherKey = made.body as CreatedKey;
      const revokeArgs = ['keys', 'revoke', otherKey.key.id, '--tenant', 'acme'];
      const revoked = await run(dir, revokeArgs);
      assert.equal(revoked.code, 0, show(revokeArgs, revoked));
      assert.match(revoked.stdout, new RegExp(`^Revoked ${otherKey.key.id} \\(bi\\)\\.$`, 'm'));
      const refused = await api(server, 'GET', '/v1/tenant', { key: otherKey.secret });
      assert.equal(refused.status, 401);
      assert.equal((refused.body as { code: string }).code, 'access.key_revoked');
    } finally {
      assert.deepEqual(await stopServer(server), { code: 0, signal: null }, server.output());
    }

    const listArgs = ['keys', 'list', '--tenant', 'acme', '--json'];
    const list = await run(dir, listArgs);
    assert.equal(list.code, 0, show(listArgs, list));
    const keys = JSON.parse(list.stdout) as Array<{ id: string; status: string; roles: string[] }>;
    assert.deepEqual(
      keys.map((k) => [k.id, k.status, k.roles.join(',')]).sort(),
      [
        [adminKey.key.id, 'active', 'admin'],
        [otherKey.key.id, 'revoked', 'read-only,finance'],
      ].sort(),
    );
    assert.ok(
      !list.stdout.includes(adminKey.secret) && !/secret|digest/i.test(list.stdout),
      'no secrets listed',
    );
  });

  it('exits 66 for an unknown tenant and 64 (usage) for an invalid --role', async () => {
    const dir = freshDir();
    const unknown = ['keys', 'create', '--tenant', 'nobody', '--name', 'k', '--role', 'admin'];
    const unknownJson = ['--json', 'keys', 'list', '--tenant', 'nobody'];
    const badRole = ['keys', 'create', '--tenant', 'nobody', '--name', 'k', '--role', 'wizard'];
    const [a, b, c] = await Promise.all([run(dir, unknown), run(dir, unknownJson), run(dir, badRole)]);
    assert.equal(a.code, 66, show(unknown, a));
    assert.match(a.stderr, /no tenant "nobody"/);
    assert.equal(a.stdout, '');
    assert.equal(b.code, 66, show(unknownJson, b));
    assert.deepEqual(
      {
        code: (JSON.parse(b.stderr) as { code: string }).code,
        field: (JSON.parse(b.stderr) as { field: string }).field,
      },
      { code: 'common.not_found', field: '--tenant' },
    );
    assert.equal(c.code, 64, show(badRole, c));
    assert.match(c.stderr, /'wizard' is invalid\. Allowed choices are admin, /);
  });
});

// ---------------------------------------------------------------------------------------------
// audit verify
// ---------------------------------------------------------------------------------------------

describe('tollgate audit verify', { timeout: 60_000 }, () => {
  it('exits 0 on an intact chain, and 70 naming the record after the database is tampered with', async () => {
    const dir = freshDir();
    const seeded = await run(dir, ['demo']);
    assert.equal(seeded.code, 0, show(['demo'], seeded));

    const intact = await run(dir, ['audit', 'verify']);
    assert.equal(intact.code, 0, show(['audit', 'verify'], intact));
    assert.match(intact.stdout, /Audit chain intact for 2 tenant\(s\)\./);

    let tenantId: string;
    const db = new Database(dbPath(dir));
    try {
      tenantId = (
        db.prepare('select tenant_id from audit_records where seq = 2').get() as { tenant_id: string }
      ).tenant_id;
      const changed = db.prepare(`update audit_records set after = '{}' where seq = 2`).run();
      assert.equal(changed.changes, 1);
    } finally {
      db.close();
    }

    const broken = await run(dir, ['audit', 'verify']);
    assert.equal(broken.code, 70, show(['audit', 'verify'], broken));
    assert.match(broken.stdout, new RegExp(`BROKEN\\s+${tenantId}`));
    assert.match(broken.stdout, /record 2 does not match its hash/);
    assert.match(broken.stdout, /Audit chain BROKEN/);
  });
});

// ---------------------------------------------------------------------------------------------
// configuration, schema, help
// ---------------------------------------------------------------------------------------------

describe('tollgate config, db and help', { timeout: 60_000 }, () => {
  it('exits 78 naming TOLLGATE_PORT when the configuration is bad', async () => {
    const dir = freshDir();
    const serve = await run(dir, ['serve', '--demo'], {
      env: { TOLLGATE_PORT: 'abc' },
      timeoutMs: STARTUP_TIMEOUT_MS,
    });
    assert.equal(serve.code, 78, show(['serve'], serve));
    assert.match(serve.stderr, /TOLLGATE_PORT = "abc": must be a whole number/);
    assert.equal(existsSync(dbPath(dir)), false, 'nothing was opened with a bad configuration');
  });

  it('db migrate then db status --json lists the applied migrations (--database overrides the env)', async () => {
    const dir = freshDir();
    const other = join(dir, 'other.db');
    const database = ['--database', `sqlite:${other}`];
    const migrate = await run(dir, [...database, '--json', 'db', 'migrate']);
    assert.equal(migrate.code, 0, show(['db', 'migrate'], migrate));
    const report = JSON.parse(migrate.stdout) as { applied: string[]; alreadyApplied: number };
    assert.ok(report.applied.length >= 5, migrate.stdout);
    assert.equal(report.alreadyApplied, 0);

    const [status, again] = await Promise.all([
      run(dir, [...database, 'db', 'status', '--json']),
      run(dir, [...database, 'db', 'migrate']),
    ]);
    assert.equal(status.code, 0, show(['db', 'status'], status));
    const applied = JSON.parse(status.stdout) as Array<{ name: string; executedAt: string }>;
    assert.deepEqual(
      applied.map((m) => m.name),
      report.applied,
    );
    for (const m of applied)
      assert.ok(!Number.isNaN(Date.parse(m.executedAt)), `${m.name} ran: ${m.executedAt}`);
    assert.equal(again.code, 0, show(['db', 'migrate'], again));
    assert.match(again.stdout, /Schema is current/);
    assert.ok(report.applied.includes('0001_tenancy'));
    assert.equal(existsSync(dbPath(dir)), false, 'TOLLGATE_DATABASE_URL was not used');
  });

  it('config check masks TOLLGATE_TOKEN_SECRET, and --help exits 0', async () => {
    const dir = freshDir();
    const secret = 'e2e-very-secret-token-signing-key-0123456789';
    const env = { TOLLGATE_TOKEN_SECRET: secret, TOLLGATE_PORT: '9099' };
    const [text, json, help] = await Promise.all([
      run(dir, ['config', 'check'], { env, timeoutMs: STARTUP_TIMEOUT_MS }),
      run(dir, ['--json', 'config', 'check'], { env, timeoutMs: STARTUP_TIMEOUT_MS }),
      run(dir, ['--help']),
    ]);
    assert.equal(text.code, 0, show(['config', 'check'], text));
    assert.match(text.stdout, /^TOLLGATE_TOKEN_SECRET\s+"\(set\)"$/m);
    assert.match(text.stdout, /^TOLLGATE_PORT\s+9099$/m);
    assert.ok(!text.stdout.includes(secret) && !text.stderr.includes(secret), 'the secret is not printed');
    assert.equal(json.code, 0, show(['--json', 'config', 'check'], json));
    const effective = JSON.parse(json.stdout) as { tokenSecret: string; port: number };
    assert.equal(effective.tokenSecret, '(set)');
    assert.equal(effective.port, 9099);
    assert.ok(!json.stdout.includes(secret));

    assert.equal(help.code, 0, show(['--help'], help));
    assert.match(help.stdout, /^Usage: tollgate /m);
    for (const command of ['serve', 'db', 'tenants', 'keys', 'token', 'audit', 'demo', 'config']) {
      assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `--help lists ${command}`);
    }
  });
});
