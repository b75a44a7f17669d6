/**
 * `tollgate balances ...`, `tollgate vouchers ...`, `tollgate reservations ...`: the operator's
 * side of prepaid balances. Thin adapters over workflows/charging-admin.ts.
 *
 * The CLI opens its own charging engine over the database. An engine owns the accounts it has
 * loaded (docs/charging.md), so change balances from the CLI while no server runs on the same
 * database, or through the server's API; reading is always safe.
 */
import type { Command } from 'commander';
import { InvalidArgumentError, Option } from 'commander';
import {
  BALANCE_UNITS,
  adjustBalance,
  balanceHistory,
  createBalance,
  expireReservations,
  generateVoucherBatch,
  getBalance,
  listBalances,
  listReservations,
  redeemVoucher,
  releaseReservation,
  topUpBalance,
  type AmountView,
  type BalanceView,
  type NewBalanceInput,
} from '../workflows/charging-admin.js';
import { grantAllowances } from '../workflows/charging-grants.js';
import type { BalanceUnit, OwnerKind } from '../charging/index.js';
import { parseInstant, msFromInstant } from '../kernel/clock.js';
import { table } from './output.js';
import { createProgress } from './progress.js';
import type { CliHelpers } from './usage.js';

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};

const wholeNumber = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
};

const list = (value: string): string[] => value.split(',').filter((part) => part !== '');

const instant = (value: string): number => {
  const parsed = parseInstant(value);
  if (parsed === undefined) throw new InvalidArgumentError('must be an RFC 3339 date-time');
  return msFromInstant(parsed);
};

/** "5000000000 byte, 30000 second" from per-unit counts. */
function unitCounts(counts: Readonly<Partial<Record<string, string>>>): string {
  const parts = Object.entries(counts).map(([unit, n]) => `${n} ${unit}`);
  return parts.length === 0 ? 'nothing' : parts.join(', ');
}

function shown(value: AmountView | null): string {
  if (value === null) return '';
  return 'currency' in value ? `${value.amount} ${value.currency}` : `${value.amount} ${value.units}`;
}

/** "15.00 EUR", "5 GB", "-2.50" (with the balance's own units when none is given). */
function amountArgument(text: string, balance: BalanceView): { amount: string; units: string } {
  const [amount = '', units] = text.trim().split(/\s+/);
  return { amount, units: units ?? (balance.unit === 'money' ? balance.currency : balance.unit) };
}

function balanceRow(b: BalanceView) {
  return {
    id: b.id,
    owner: `${b.ownerKind} ${b.ownerId}`,
    unit: b.unit,
    amount: shown(b.amount),
    held: shown(b.held),
    available: shown(b.available),
    validUntil: b.validUntil ?? '',
    priority: b.priority,
  };
}

export function registerChargingCommands(program: Command, helpers: CliHelpers): void {
  const { withApp, tenantCaller } = helpers;

  // ---- balances ------------------------------------------------------------------------------
  const balances = program.command('balances').description('prepaid balances: money and buckets');
  balances
    .command('list')
    .description('list balances, of an account or a subscription')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--account <id>', 'billing account id')
    .option('--subscription <id>', 'subscription id')
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .action(
      async (
        o: { tenant: string; account?: string; subscription?: string; limit: number },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const items = await listBalances(app, caller.tenantId, {
            ...(o.account === undefined ? {} : { accountId: o.account }),
            ...(o.subscription === undefined ? {} : { subscriptionId: o.subscription }),
            limit: o.limit,
          });
          out.result(items, () =>
            table(items.map(balanceRow), [
              'id',
              'owner',
              'unit',
              'amount',
              'held',
              'available',
              'validUntil',
              'priority',
            ]),
          );
        }),
    );
  balances
    .command('show')
    .description('show a balance: amount, held by reservations, available')
    .argument('<id>', 'balance id (bal_...)')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (id: string, o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const b = await getBalance(app, caller.tenantId, id);
        out.result(b, () =>
          [
            `${b.id}  ${b.unit} balance of ${b.ownerKind} ${b.ownerId} (account ${b.accountId})`,
            `  amount     ${shown(b.amount)}`,
            `  held       ${shown(b.held)}`,
            `  available  ${shown(b.available)}`,
            `  valid      ${b.validFrom ?? 'always'} → ${b.validUntil ?? 'never expires'}; priority ${b.priority}`,
            ...(b.unit === 'money'
              ? [
                  `  credit     ${shown(b.creditLimit)}; low-balance alert ${shown(b.lowBalanceThreshold) || 'none'}`,
                ]
              : []),
            `  movements  ${b.version}`,
          ].join('\n'),
        );
      }),
    );
  balances
    .command('create')
    .description('open a balance (at zero) for an account or a subscription')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--account <id>', 'owned by this billing account (shared by its subscriptions)')
    .option('--subscription <id>', 'owned by this subscription')
    .addOption(
      new Option('--unit <unit>', 'money or a base unit').choices([...BALANCE_UNITS]).default('money'),
    )
    .option('--valid-from <instant>', 'RFC 3339 date-time')
    .option('--valid-until <instant>', 'RFC 3339 date-time')
    .option('--priority <n>', 'lower draws first (default 100)', wholeNumber)
    .option('--services <list>', 'only these services, comma-separated', list)
    .option('--credit-limit <amount>', 'money: how far below zero it may go')
    .option('--low-balance <amount>', 'money: alert when the balance falls below this')
    .action(
      async (
        o: {
          tenant: string;
          account?: string;
          subscription?: string;
          unit: BalanceUnit;
          validFrom?: string;
          validUntil?: string;
          priority?: number;
          services?: string[];
          creditLimit?: string;
          lowBalance?: string;
        },
        command: Command,
      ) => {
        if ((o.account === undefined) === (o.subscription === undefined)) {
          command.error('error: give exactly one of --account and --subscription', { exitCode: 64 });
        }
        return withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const ownerKind: OwnerKind = o.account === undefined ? 'subscription' : 'account';
          const input: NewBalanceInput = {
            ownerKind,
            ownerId: (o.account ?? o.subscription)!,
            unit: o.unit,
            ...(o.validFrom === undefined ? {} : { validFrom: o.validFrom }),
            ...(o.validUntil === undefined ? {} : { validUntil: o.validUntil }),
            ...(o.priority === undefined ? {} : { priority: o.priority }),
            ...(o.services === undefined ? {} : { services: o.services }),
            ...(o.creditLimit === undefined ? {} : { creditLimit: o.creditLimit }),
            ...(o.lowBalance === undefined ? {} : { lowBalanceThreshold: o.lowBalance }),
          };
          const b = await createBalance(app, caller, input);
          out.result(b, () => `Opened ${b.unit} balance ${b.id} for ${b.ownerKind} ${b.ownerId}.`);
        });
      },
    );
  balances
    .command('topup')
    .description('credit a paid top-up (once per payment reference)')
    .argument('<id>', 'balance id')
    .argument('<amount>', 'decimal text, with the units if not the balance\'s own: "15.00", "5 GB"')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .requiredOption('--reference <text>', 'the payment reference (a second top-up with it credits nothing)')
    .action(async (id: string, amount: string, o: { tenant: string; reference: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const balance = await getBalance(app, caller.tenantId, id);
        const result = await topUpBalance(app, caller, {
          balanceId: id,
          amount: amountArgument(amount, balance),
          paymentReference: o.reference,
        });
        out.result(result, () =>
          result.replayed
            ? `Payment ${o.reference} was credited before (movement ${result.movement.seq}); nothing credited now. Balance: ${shown(result.balance.amount)}.`
            : `Topped up ${id} by ${shown(result.movement.amount)}: balance ${shown(result.balance.amount)}.`,
        );
      }),
    );
  balances
    .command('adjust')
    .description("an operator's correction, either sign, with a reason")
    .argument('<id>', 'balance id')
    .argument('<amount>', 'signed decimal text: "-2.50", "1 GB"')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .requiredOption('--reason <text>', 'why (kept with the movement and in the audit trail)')
    .action(async (id: string, amount: string, o: { tenant: string; reason: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const balance = await getBalance(app, caller.tenantId, id);
        const result = await adjustBalance(app, caller, {
          balanceId: id,
          amount: amountArgument(amount, balance),
          reason: o.reason,
        });
        out.result(
          result,
          () =>
            `Adjusted ${id} by ${shown(result.movement.amount)}: balance ${shown(result.balance.amount)}.`,
        );
      }),
    );
  balances
    .command('history')
    .description("a balance's movements, oldest first")
    .argument('<id>', 'balance id')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--after <seq>', 'after this movement number', wholeNumber)
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .action(async (id: string, o: { tenant: string; after?: number; limit: number }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const page = await balanceHistory(app, caller.tenantId, id, {
          ...(o.after === undefined ? {} : { afterSeq: o.after }),
          limit: o.limit,
        });
        out.result(
          page,
          () =>
            table(
              page.items.map((m) => ({
                seq: m.seq,
                at: m.at,
                kind: m.kind,
                amount: shown(m.amount),
                after: shown(m.balanceAfter),
                reference: m.reference,
              })),
              ['seq', 'at', 'kind', 'amount', 'after', 'reference'],
            ) + (page.nextAfterSeq === null ? '' : `\nMore: --after ${page.nextAfterSeq}`),
        );
      }),
    );

  balances
    .command('grant-allowances')
    .description(
      'grant the allowance buckets of the current period to prepaid and hybrid subscriptions (once per period; `tollgate serve` does it every hour)',
    )
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--at <instant>', 'the instant whose periods are granted (RFC 3339; default now)', instant)
    .action(async (o: { tenant: string; at?: number }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const progress = createProgress('grants:');
        const result = await grantAllowances(app, caller, {
          ...(o.at === undefined ? {} : { atMs: o.at }),
          onProgress: (p) =>
            progress.update({
              done: p.done,
              total: p.total,
              counts: { subscriptions: p.subscriptions, granted: p.granted },
              rateOf: 'subscriptions',
            }),
        });
        progress.finish();
        out.result(result, () =>
          [
            `Allowances for the periods at ${result.at}: ${result.subscriptions} prepaid and hybrid subscriptions looked at, ` +
              `${result.bucketsOpened} bucket(s) granted (${unitCounts(result.unitsGranted)}), ${result.alreadyGranted} granted before.`,
            ...(Object.keys(result.rolloverCut).length === 0
              ? []
              : [`Rollover beyond maxQuantity taken off: ${unitCounts(result.rolloverCut)}.`]),
            ...result.problems.map(
              (p) =>
                `  not granted: account ${p.accountId}${p.subscriptionId === undefined ? '' : ` subscription ${p.subscriptionId}`}: ${p.message}`,
            ),
          ].join('\n'),
        );
        if (result.problems.length > 0) process.exitCode = 70;
      }),
    );

  // ---- vouchers ------------------------------------------------------------------------------
  const vouchers = program.command('vouchers').description('prepaid vouchers (16-digit PINs, stored hashed)');
  vouchers
    .command('generate')
    .description('generate a batch of vouchers and print their PINs, this once')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .requiredOption('--value <amount>', 'what each is worth: "10.00 EUR", "1 GB"')
    .requiredOption('--count <n>', 'how many', positiveInt)
    .requiredOption('--expires <instant>', 'RFC 3339 date-time after which they are refused')
    .option('--bonus-percent <n>', 'a bonus of this percent of the value', positiveInt)
    .option('--bonus <amount>', "a fixed bonus in the value's units")
    .option('--name <name>', 'a name for the batch')
    .action(
      async (
        o: {
          tenant: string;
          value: string;
          count: number;
          expires: string;
          bonusPercent?: number;
          bonus?: string;
          name?: string;
        },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const [amount = '', units = ''] = o.value.trim().split(/\s+/);
          const result = await generateVoucherBatch(app, caller, app.config.tokenSecret, {
            faceValue: { amount, units },
            count: o.count,
            expiresAt: o.expires,
            ...(o.bonusPercent !== undefined
              ? { bonus: { percent: o.bonusPercent } }
              : o.bonus !== undefined
                ? { bonus: { amount: o.bonus } }
                : {}),
            ...(o.name === undefined ? {} : { name: o.name }),
          });
          out.result(result, () =>
            [
              `Generated batch ${result.batch.id} (${result.batch.name}): ${result.vouchers.length} vouchers of ${shown(result.batch.value)}, expiring ${result.batch.expiresAt}.`,
              'The PINs are shown only now; they are stored hashed and cannot be shown again:',
              table(result.vouchers, ['serial', 'pin']),
            ].join('\n'),
          );
        }),
    );
  vouchers
    .command('redeem')
    .description('redeem a voucher by its PIN into a balance')
    .argument('<pin>', 'the 16 digits')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .requiredOption('--balance <id>', 'the balance to credit')
    .action(async (pin: string, o: { tenant: string; balance: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const result = await redeemVoucher(app, caller, app.config.tokenSecret, {
          pin,
          balanceId: o.balance,
        });
        out.result(
          result,
          () =>
            `Redeemed voucher ${result.serial}: ${shown(result.credited)} credited (bonus ${shown(result.bonus)}); balance ${shown(result.balance.amount)}.`,
        );
      }),
    );

  // ---- reservations --------------------------------------------------------------------------
  const reservations = program.command('reservations').description('online charging reservations (holds)');
  reservations
    .command('list')
    .description('list reservations (active unless --all)')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .option('--all', 'every status, not only active')
    .option('--account <id>', 'billing account id')
    .option('--session <id>', 'charging session id')
    .option('--limit <n>', 'at most this many', positiveInt, 100)
    .action(
      async (
        o: { tenant: string; all?: boolean; account?: string; session?: string; limit: number },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const items = await listReservations(app, caller.tenantId, {
            status: o.all === true ? 'all' : 'active',
            ...(o.account === undefined ? {} : { accountId: o.account }),
            ...(o.session === undefined ? {} : { sessionId: o.session }),
            limit: o.limit,
          });
          out.result(items, () =>
            table(
              items.map((r) => ({ ...r, granted: `${r.grantedUnits} ${r.unit}` })),
              ['id', 'status', 'subscriptionId', 'service', 'granted', 'heldMoney', 'expiresAt'],
            ),
          );
        }),
    );
  reservations
    .command('expire')
    .description('release now the active reservations whose validity ended')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const result = await expireReservations(app, caller);
        out.result(result, () => `Expired ${result.expired} reservations.`);
      }),
    );
  reservations
    .command('release')
    .description('force-release an active reservation (its holds go back, nothing is charged)')
    .argument('<id>', 'reservation id (session/requestNumber/ratingGroup)')
    .requiredOption('--tenant <slug>', 'tenant slug or id')
    .action(async (id: string, o: { tenant: string }, command: Command) =>
      withApp(command, async (app, out) => {
        const caller = await tenantCaller(app, o.tenant);
        const r = await releaseReservation(app, caller, id);
        out.result(r, () => `Released ${r.id}: ${r.releasedUnits} ${r.unit} back.`);
      }),
    );
}
