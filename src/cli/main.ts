/**
 * The `tollgate` command line. Each command is a thin adapter: parse arguments, call a workflow,
 * print the result (a table for people, --json for scripts), exit with the code the error map
 * gives (kernel/errors.ts).
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { loadConfig } from '../app/config.js';
import { createLogger, openApp, migrate, migrations, type App } from '../app/container.js';
import { describeConfig, SETTINGS, type Config } from '../kernel/config.js';
import { CommonErrors, fail } from '../kernel/errors.js';
import { ROLES, signToken, type Role } from '../access/index.js';
import { createApiKey, listApiKeys, revokeApiKey } from '../workflows/api-keys.js';
import { createTenant, findTenant, listTenants } from '../workflows/tenants.js';
import { seedDemoIfEmpty } from '../workflows/demo.js';
import { loadDemoFiles } from '../app/demo-files.js';
import { verifyAudit } from '../workflows/audit.js';
import { getAccountTree, importCustomers, importRecordsFromText } from '../workflows/customers.js';
import {
  applyCatalog,
  diffCatalog,
  exportCatalog,
  correctTariffVersion,
  importRateDeck,
  tariffVersionAt,
  validateCatalogFiles,
} from '../workflows/catalog.js';
import {
  catalogProblemsError,
  describeDiff,
  serializeCatalog,
  serializeCatalogJson,
} from '../catalog/index.js';
import type { Actor, Caller } from '../workflows/context.js';
import { createOutput, reportError, table, type Output } from './output.js';
import { demoUsageDirectory, saveDemoKey } from './demo-key.js';
import { registerUsageCommands } from './usage.js';
import { registerChargingCommands } from './charging.js';
import { registerNchfDemoCommand } from './nchf-demo.js';
import { writeFileSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';

const CLI_ACTOR: Actor = { type: 'cli', id: process.env.USER ?? 'operator' };

interface GlobalOptions {
  json?: boolean;
  database?: string;
}

function configFrom(command: Command, extra: Record<string, string> = {}): Config {
  const options = command.optsWithGlobals<GlobalOptions>();
  return loadConfig(process.env, {
    ...(options.database ? { TOLLGATE_DATABASE_URL: options.database } : {}),
    ...extra,
  });
}

function outputFor(command: Command): Output {
  return createOutput(Boolean(command.optsWithGlobals<GlobalOptions>().json));
}

async function withApp<T>(command: Command, work: (app: App, out: Output) => Promise<T>): Promise<T> {
  const config = configFrom(command);
  const app = await openApp(config, { logger: cliLogger(config) });
  try {
    return await work(app, outputFor(command));
  } finally {
    await app.close();
  }
}

async function tenantCaller(app: App, tenant: string): Promise<Caller> {
  const found = await findTenant(app, tenant);
  if (!found)
    throw fail(CommonErrors.not_found, `no tenant "${tenant}" (give its slug or id)`, { field: '--tenant' });
  return { tenantId: found.id, actor: CLI_ACTOR };
}

/** Commands log warnings and errors only, to stderr, so stdout carries just the result. */
function cliLogger(config: Config) {
  return createLogger({ logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel }, process.stderr);
}

/**
 * Parser of the repeatable --role option. Commander's argParser() replaces the check that
 * choices() installs, so the choice is checked here: a wrong role is a usage error (exit 64).
 */
const collectRole = (value: string, previous: string[] = []) => {
  if (!(ROLES as readonly string[]).includes(value))
    throw new InvalidArgumentError(`Allowed choices are ${ROLES.join(', ')}.`);
  return [...previous, value];
};

export function buildCli(): Command {
  const program = new Command('tollgate')
    .description('Tollgate: convergent telecom billing and charging')
    .version('0.1.0')
    .option('--json', 'print machine-readable JSON')
    .option('--database <url>', 'database URL (overrides TOLLGATE_DATABASE_URL)')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('serve')
    .description('run the API server (migrates the database first)')
    .option('--host <host>', 'listen address')
    .option('--port <port>', 'listen port')
    .option('--demo', 'seed demo data into an empty database and print a demo admin key')
    .action(async (options: { host?: string; port?: string; demo?: boolean }, command: Command) => {
      const config = configFrom(command, {
        ...(options.host ? { TOLLGATE_HOST: options.host } : {}),
        ...(options.port ? { TOLLGATE_PORT: options.port } : {}),
        ...(options.demo ? { TOLLGATE_DEMO: 'true' } : {}),
      });
      // Loaded only here: the HTTP stack costs a second or more to load, which other commands need not pay.
      const { serve } = await import('./serve.js');
      await serve(config, outputFor(command));
    });

  const db = program.command('db').description('database schema');
  db.command('migrate')
    .description('apply pending migrations')
    .action(async (_o, command: Command) => {
      const config = configFrom(command);
      const app = await openApp(config, { migrate: false, logger: cliLogger(config) });
      try {
        const report = await migrate(app);
        outputFor(command).result(report, () =>
          report.applied.length === 0
            ? `Schema is current (${report.alreadyApplied} migrations).`
            : `Applied ${report.applied.length} migrations: ${report.applied.join(', ')}`,
        );
      } finally {
        await app.close();
      }
    });
  db.command('status')
    .description('list migrations and whether they have run')
    .action(async (_o, command: Command) => {
      const config = configFrom(command);
      const app = await openApp(config, { migrate: false, logger: cliLogger(config) });
      try {
        const list = (await migrations(app)).map((m) => ({
          name: m.name,
          executedAt: m.executedAt?.toISOString() ?? 'pending',
        }));
        outputFor(command).result(list, () => table(list, ['name', 'executedAt']));
      } finally {
        await app.close();
      }
    });

  const tenants = program.command('tenants').description('operators and brands hosted on this platform');
  tenants
    .command('create')
    .description('create a tenant')
    .requiredOption('--slug <slug>', 'short unique handle, e.g. acme-mobile')
    .requiredOption('--name <name>', 'display name')
    .option('--currency <code>', 'default ISO 4217 currency', 'EUR')
    .option('--time-zone <zone>', 'default IANA time zone', 'UTC')
    .action(async (o: { slug: string; name: string; currency: string; timeZone: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const tenant = await createTenant(app, CLI_ACTOR, {
          slug: o.slug,
          name: o.name,
          settings: { defaultCurrency: o.currency, timeZone: o.timeZone },
        });
        out.result(tenant, () => `Created tenant ${tenant.slug} (${tenant.id}).`);
      }),
    );
  tenants
    .command('list')
    .description('list tenants')
    .action(async (_o, command: Command) =>
      withApp(command, async (app, out) => {
        const list = await listTenants(app);
        out.result(list, () =>
          table(list as unknown as Array<Record<string, unknown>>, ['slug', 'id', 'name', 'status']),
        );
      }),
    );

  const keys = program.command('keys').description('API keys');
  keys
    .command('create')
    .description('create an API key (the secret is printed once)')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .requiredOption('--name <name>', 'what the key is for')
    .addOption(new Option('--role <role>', 'a role (repeatable)').choices([...ROLES]).argParser(collectRole))
    .option('--account <id>', 'billing account a subscriber key is scoped to')
    .action(
      async (o: { tenant: string; name: string; role?: string[]; account?: string }, command: Command) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const created = await createApiKey(app, caller, {
            name: o.name,
            roles: o.role ?? [],
            ...(o.account ? { accountId: o.account } : {}),
          });
          out.result(created, () =>
            [
              `Created API key ${created.key.id} with roles ${created.key.roles.join(', ')}.`,
              `Secret (shown only now, store it safely):`,
              `  ${created.secret}`,
            ].join('\n'),
          );
        }),
    );
  keys
    .command('list')
    .description('list API keys of a tenant')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const list = await listApiKeys(app, caller.tenantId, { limit: 500 });
        out.result(list, () =>
          table(
            list.map((k) => ({ ...k, roles: k.roles.join(',') })),
            ['id', 'name', 'roles', 'status', 'createdAt', 'lastUsedAt'],
          ),
        );
      }),
    );
  keys
    .command('revoke')
    .description('revoke an API key')
    .argument('<id>', 'key id (key_...)')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (id: string, o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const key = await revokeApiKey(app, caller, id);
        out.result(key, () => `Revoked ${key.id} (${key.name}).`);
      }),
    );

  program
    .command('token')
    .description('sign a bearer token for a front end (needs TOLLGATE_TOKEN_SECRET)')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .requiredOption('--subject <id>', 'user id the token speaks for')
    .addOption(new Option('--role <role>', 'a role (repeatable)').choices([...ROLES]).argParser(collectRole))
    .option('--account <id>', 'billing account a subscriber token is scoped to')
    .option('--ttl <seconds>', 'lifetime in seconds', '3600')
    .action(
      async (
        o: { tenant: string; subject: string; role?: string[]; account?: string; ttl: string },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          if (!app.config.tokenSecret) {
            throw fail(CommonErrors.invalid_config, 'TOLLGATE_TOKEN_SECRET is not set', {
              field: 'TOLLGATE_TOKEN_SECRET',
            });
          }
          if (!/^\d{1,7}$/.test(o.ttl))
            throw fail(CommonErrors.invalid_input, '--ttl must be whole seconds', { field: '--ttl' });
          const caller = await tenantCaller(app, o.tenant);
          const iat = Math.floor(app.clock.nowMs() / 1000);
          const token = signToken(
            {
              sub: o.subject,
              tid: caller.tenantId,
              roles: (o.role ?? ['read-only']) as Role[],
              ...(o.account ? { acct: o.account } : {}),
              iat,
              exp: iat + Number(o.ttl),
            },
            app.config.tokenSecret,
          );
          out.result({ token }, () => token);
        }),
    );

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('check the hash chain of every tenant (or one); exit 70 when it is broken')
    .option('--tenant <slug>', 'only this tenant')
    .action(async (o: { tenant?: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const tenantId = o.tenant ? (await tenantCaller(app, o.tenant)).tenantId : undefined;
        const report = await verifyAudit(app, tenantId);
        out.result(report.summary, () => report.text);
        if (!report.summary.ok) process.exitCode = report.exitCode;
      }),
    );

  program
    .command('demo')
    .description('seed the demo tenants and keys into an empty database')
    .action(async (_o, command: Command) =>
      withApp(command, async (app, out) => {
        const seed = await seedDemoIfEmpty(app, loadDemoFiles(), {
          usageDirectory: demoUsageDirectory(app.config),
        });
        if (!seed) {
          out.result({ seeded: false }, () => 'The database already has tenants; nothing seeded.');
          return;
        }
        saveDemoKey(app.config, seed.adminKey);
        out.result({ seeded: true, tenant: seed.tenantSlug, keys: seed.keys }, () =>
          [
            `Seeded tenant "${seed.tenantSlug}": ${seed.offers} offers, ${seed.customers.subscriptions} subscriptions. Keys (shown once):`,
            ...seed.keys.map((k) => `  ${k.name.padEnd(28)} ${k.secret}`),
          ].join('\n'),
        );
      }),
    );

  // Catalog as code: validate, diff and apply catalog files; export; rate decks into tariffs.
  const catalog = program.command('catalog').description('the product catalog as code (YAML or JSON files)');
  const readText = (file: string) => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      throw fail(CommonErrors.not_found, `cannot read ${file}: ${(error as Error).message}`, { field: file });
    }
  };
  const readSources = (files: readonly string[]) => files.map((file) => ({ file, text: readText(file) }));
  catalog
    .command('validate')
    .description('check catalog files (no database needed); exit 65 naming file, path and reason')
    .argument('<files...>', 'catalog files (YAML or JSON), together the whole catalog')
    .action(async (files: string[], _o, command: Command) => {
      const parsed = validateCatalogFiles(readSources(files));
      if (parsed.document === undefined)
        throw catalogProblemsError(parsed.problems, 'the catalog files are not valid');
      const d = parsed.document;
      const counts = {
        products: d.products.length,
        tariffs: d.tariffs.length,
        offers: d.offers.length,
        categories: d.categories.length,
        catalogs: d.catalogs.length,
      };
      outputFor(command).result(
        { valid: true, ...counts },
        () =>
          `Valid: ${counts.products} products, ${counts.tariffs} tariffs, ${counts.offers} offers, ${counts.categories} categories, ${counts.catalogs} catalogs.`,
      );
    });
  catalog
    .command('diff')
    .description('show what applying the files would create, change and retire')
    .argument('<files...>', 'catalog files')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (files: string[], o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const diff = await diffCatalog(app, caller.tenantId, readSources(files));
        if (diff.problems.length > 0)
          throw catalogProblemsError(diff.problems, 'the catalog cannot be applied');
        out.result(diff, () => (diff.entries.length === 0 ? 'No changes.' : describeDiff(diff).join('\n')));
      }),
    );
  catalog
    .command('apply')
    .description('make the tenant catalog what the files say, in one transaction (all or nothing)')
    .argument('<files...>', 'catalog files')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (files: string[], o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const diff = await applyCatalog(app, caller, readSources(files));
        out.result(diff, () =>
          diff.entries.length === 0
            ? 'No changes.'
            : [...describeDiff(diff), `Applied ${diff.entries.length} changes.`].join('\n'),
        );
      }),
    );
  catalog
    .command('export')
    .description('write the published catalog as a catalog file')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--out <file>', 'write to this file instead of stdout')
    .addOption(new Option('--format <format>', 'file format').choices(['yaml', 'json']).default('yaml'))
    .action(async (o: { tenant: string; out?: string; format: 'yaml' | 'json' }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const document = await exportCatalog(app, caller.tenantId);
        const text =
          o.format === 'json' || out.json ? serializeCatalogJson(document) : serializeCatalog(document);
        if (o.out === undefined) {
          process.stdout.write(text);
          return;
        }
        writeFileSync(o.out, text);
        out.result(
          { file: o.out, offers: document.offers.length },
          () => `Wrote ${o.out} (${document.offers.length} offers).`,
        );
      }),
    );

  const tariffs = program.command('tariffs').description('tariffs and their versions');
  tariffs
    .command('import-deck')
    .description(
      'import a rate deck (CSV) as a new version of a tariff; bad rows are reported by line and column',
    )
    .argument('<file>', 'CSV: prefix,description,rate,connect_fee,increments,currency,effective_date')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .requiredOption('--tariff <code>', 'the tariff (code or id)')
    .requiredOption('--effective-from <instant>', 'start of the new version, e.g. 2026-07-01T00:00:00Z')
    .option('--draft', 'store as a draft (dry-run it, then publish)')
    .action(
      async (
        file: string,
        o: { tenant: string; tariff: string; effectiveFrom: string; draft?: boolean },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const result = await importRateDeck(app, caller, {
            tariff: o.tariff,
            csv: readText(file),
            effectiveFrom: o.effectiveFrom,
            draft: o.draft === true,
          });
          const { definition: _definition, ...version } = result.version;
          out.result(
            { ...result, version },
            () =>
              `Imported ${result.rows} rows (${result.prefixes} prefixes, ${result.zones} zones) as ${result.version.status} version ` +
              `${result.version.number} (${result.version.id}) of ${o.tariff}, from ${result.version.effectiveFrom}.`,
          );
        }),
    );

  tariffs
    .command('correct')
    .description(
      'correct a published tariff version that has started (the one in force at --at, or --tariff-version): ' +
        'the file replaces its rates for its whole range; then re-rate the usage (usage rerate) to write the deltas',
    )
    .argument(
      '<file>',
      'the corrected tariff definition, JSON or YAML (as under `definition:` in a catalog file)',
    )
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--tariff <code>', 'the tariff (code or id), with --at')
    .option('--at <instant>', 'an instant the wrong version was in force, e.g. 2026-11-28T00:00:00Z')
    .option('--tariff-version <id>', 'the tariff version to correct, instead of --tariff and --at')
    .requiredOption('--reason <text>', 'what was wrong (kept with the version and in the audit trail)')
    .action(
      async (
        file: string,
        o: { tenant: string; tariff?: string; at?: string; tariffVersion?: string; reason: string },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          let versionId = o.tariffVersion;
          if (versionId === undefined) {
            if (o.tariff === undefined || o.at === undefined)
              throw fail(CommonErrors.invalid_input, 'give --tariff and --at, or --tariff-version', {
                field: '--tariff-version',
              });
            versionId = (await tariffVersionAt(app, caller.tenantId, o.tariff, o.at)).version.id;
          }
          const definition = parseYaml(readText(file)) as unknown;
          const version = await correctTariffVersion(app, caller, versionId, {
            definition,
            reason: o.reason,
          });
          const { definition: _definition, ...shown } = version;
          out.result(
            shown,
            () =>
              `Corrected ${versionId}: version ${version.number} (${version.id}) replaces it from ${version.effectiveFrom}` +
              `${version.effectiveTo === undefined ? '' : ` to ${version.effectiveTo}`}. Re-rate the usage of that range to write the deltas.`,
          );
        }),
    );

  const config = program.command('config').description('configuration');
  config
    .command('check')
    .description(
      'validate the configuration (environment and TOLLGATE_CONFIG file) and print it, secrets masked',
    )
    .action(async (_o, command: Command) => {
      const effective = describeConfig(configFrom(command));
      outputFor(command).result(effective, () =>
        table(
          SETTINGS.map((s) => ({ setting: s.env, value: JSON.stringify(effective[s.key]) })),
          ['setting', 'value'],
        ),
      );
    });

  // ---- Customers: bulk import and account trees ---------------------------------------------
  const customers = program.command('customers').description('customers, billing accounts and subscriptions');
  customers
    .command('import')
    .description(
      'import customers, accounts and subscriptions from a .csv or .json file (one row per subscriber) and ' +
        'print a per-row report; exit 65 when rows were rejected',
    )
    .argument('<file>', 'a .csv file with a header row, or a .json array of row objects')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--atomic', 'apply every row or none: any rejected row rolls the whole import back')
    .action(async (file: string, o: { tenant: string; atomic?: boolean }, command: Command) =>
      withApp(command, async (app, out) => {
        const format = /\.csv$/i.test(file) ? 'csv' : /\.json$/i.test(file) ? 'json' : undefined;
        if (!format) {
          throw fail(CommonErrors.invalid_input, `${file}: name a .csv or .json file`, { field: 'FILE' });
        }
        const { readFile } = await import('node:fs/promises');
        const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw fail(CommonErrors.not_found, `cannot read ${file}: ${error.code ?? error.message}`, {
            field: 'FILE',
          });
        });
        const caller = await tenantCaller(app, o.tenant);
        const report = await importCustomers(app, caller, importRecordsFromText(text, format), {
          atomic: o.atomic === true,
        });
        out.result(report, () => {
          const lines = report.errors.map((e) => `row ${e.row}${e.field ? ` ${e.field}` : ''}: ${e.message}`);
          lines.push(
            report.atomic && report.rejected > 0
              ? `Nothing imported (atomic): ${report.rejected} of ${report.total} rows were rejected.`
              : `Imported ${report.applied} of ${report.total} rows; ${report.rejected} rejected.`,
          );
          return lines.join('\n');
        });
        if (report.rejected > 0) process.exitCode = 65;
      }),
    );

  const accounts = program.command('accounts').description('billing accounts');
  accounts
    .command('tree')
    .description('print a billing account, every account below it and the roll-up of the tree')
    .argument('<id>', 'billing account id (acct_...)')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (id: string, o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const tree = await getAccountTree(app, caller.tenantId, id);
        out.result(tree, () => {
          type Node = (typeof tree)['root'];
          const lines: string[] = [];
          const counts = (c: Node['subscriptionsByStatus']) =>
            Object.entries(c)
              .filter(([, n]) => n > 0)
              .map(([status, n]) => `${status} ${n}`)
              .join(', ') || 'none';
          const walk = (node: Node, depth: number) => {
            const a = node.account;
            lines.push(
              `${'  '.repeat(depth)}${a.id}  ${a.name}  [${a.status}, ${a.currency}` +
                `${a.creditLimit ? `, limit ${a.creditLimit.toString()}` : ''}` +
                `${a.costCentre ? `, cost centre ${a.costCentre}` : ''}` +
                `${a.payerId ? `, paid by ${a.payerId}` : ''}]  subscriptions: ${counts(node.subscriptionsByStatus)}`,
            );
            for (const child of node.children) walk(child, depth + 1);
          };
          walk(tree.root, 0);
          const r = tree.rollUp;
          lines.push(
            '',
            `Roll-up: ${r.accounts} accounts (${r.childAccounts} below the root, depth ${r.depth}); ` +
              `${r.subscriptions} subscriptions (${counts(r.subscriptionsByStatus)})`,
            `Credit limits: ${r.creditLimits.map((m) => m.toString()).join(', ') || 'none'}`,
            `Cost centres: ${r.costCentres.map((c) => `${c.costCentre} (${c.accounts})`).join(', ') || 'none'}`,
          );
          return lines.join('\n');
        });
      }),
    );

  registerUsageCommands(program, { withApp, tenantCaller });
  registerChargingCommands(program, { withApp, tenantCaller });
  registerNchfDemoCommand(program, { withApp, tenantCaller });

  return program;
}

export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildCli();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end through here with code 0; usage mistakes are EX_USAGE (64).
      return error.exitCode === 0 ? 0 : 64;
    }
    return reportError(error, json);
  }
}

const isMain =
  process.argv[1] !== undefined && /bin[\\/]tollgate(\.js)?$|cli[\\/]main\.(ts|js)$/.test(process.argv[1]);
if (isMain) {
  const code = await runCli(process.argv.slice(2));
  // `serve` keeps running: only set the exit code; other commands end when their work is done.
  process.exitCode = code;
}
