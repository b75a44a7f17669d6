/**
 * `tollgate nchf demo`: opens a few Nchf charging sessions against a running `tollgate serve`
 * (with TOLLGATE_NCHF_ENABLED), as an SMF would, for the demo's prepaid subscribers, and prints
 * what the CHF granted and charged and the balances after.
 *
 * The subscribers are those with a data bucket of their own (the demo seed gives each prepaid
 * subscriber one) and an MSISDN. Each session is a create (a default grant), an update reporting
 * part of the grant as used and asking for more, and a release reporting the rest; the bucket pays
 * first, then money. It talks to the server over HTTP/2 like any network element, with the demo's
 * admin key (or --key): nothing here touches the balances directly.
 */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { fail, CommonErrors } from '../kernel/errors.js';
import { createNchfClient, refFromLocation } from '../protocols/nchf/client.js';
import type { ChargingDataRequest, ChargingDataResponse } from '../protocols/nchf/model.js';
import { listBalances, type BalanceView } from '../workflows/charging-admin.js';
import { listServiceIdentities } from '../workflows/customers.js';
import { readDemoKey } from './demo-key.js';
import { table } from './output.js';
import type { CliHelpers } from './usage.js';

const positiveInt = (value: string): number => {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};

const MB = 1_000_000;

function shown(balance: BalanceView): string {
  const a = balance.available;
  return 'currency' in a ? `${a.amount} ${a.currency}` : `${a.amount} ${a.units}`;
}

function granted(response: ChargingDataResponse | undefined): number {
  const unit = response?.multipleUnitInformation?.[0];
  return Number(unit?.grantedUnit?.totalVolume ?? 0);
}

function resultOf(response: ChargingDataResponse | undefined): string {
  return response?.multipleUnitInformation?.[0]?.resultCode ?? '';
}

export function registerNchfDemoCommand(program: Command, helpers: CliHelpers): void {
  const { withApp, tenantCaller } = helpers;
  const nchf = program.command('nchf').description('5G converged charging (Nchf) tools');
  nchf
    .command('demo')
    .description(
      'open demo charging sessions against a running `tollgate serve` with TOLLGATE_NCHF_ENABLED=true',
    )
    .option('--tenant <slug>', 'tenant slug or id', 'demo')
    .option('--url <url>', 'the CHF, e.g. http://127.0.0.1:8081 (default: the configured Nchf host and port)')
    .option(
      '--key <key>',
      "an API key with the network-element or admin role (default: the demo's admin key)",
    )
    .option('--sessions <n>', 'sessions per subscriber', positiveInt, 2)
    .option('--used-mb <n>', 'megabytes each session reports used', positiveInt, 16)
    .action(
      async (
        o: { tenant: string; url?: string; key?: string; sessions: number; usedMb: number },
        command: Command,
      ) =>
        withApp(command, async (app, out) => {
          const caller = await tenantCaller(app, o.tenant);
          const key = o.key ?? readDemoKey(app.config);
          if (key === undefined) {
            throw fail(
              CommonErrors.invalid_input,
              'no API key: give --key, or run `npm start` once to seed the demo',
              {
                field: '--key',
              },
            );
          }
          const host = app.config.nchfHost.includes(':') ? `[${app.config.nchfHost}]` : app.config.nchfHost;
          const baseUrl = o.url ?? `http://${host}:${app.config.nchfPort}`;

          // The subscribers: owners of a data bucket with an MSISDN.
          const balances = await listBalances(app, caller.tenantId, { limit: 1000 });
          const subscriptions = [
            ...new Set(balances.filter((b) => b.ownerKind === 'subscription').map((b) => b.ownerId)),
          ];
          const subscribers: Array<{ subscriptionId: string; accountId: string; msisdn: string }> = [];
          for (const subscriptionId of subscriptions) {
            const [identity] = await listServiceIdentities(app, caller.tenantId, {
              subscriptionId,
              type: 'msisdn',
              at: app.clock.now(),
              limit: 1,
            });
            if (identity !== undefined) {
              subscribers.push({
                subscriptionId,
                accountId: identity.accountId,
                msisdn: identity.assignment.value,
              });
            }
          }
          if (subscribers.length === 0) {
            throw fail(
              CommonErrors.not_found,
              `tenant ${o.tenant} has no subscriber with a balance of its own and an MSISDN (the demo seed opens them)`,
              { field: '--tenant' },
            );
          }

          const client = createNchfClient({ baseUrl, token: key });
          const request = (
            msisdn: string,
            sequence: number,
            usage: { requested?: boolean; usedBytes?: number },
          ): ChargingDataRequest => ({
            subscriberIdentifier: `msisdn-${msisdn}`,
            nfConsumerIdentification: {
              nodeFunctionality: 'SMF',
              nFName: '3f1c2a7e-9b4d-4e8a-8c21-5d6f7a8b9c0d',
            },
            invocationTimeStamp: app.clock.now(),
            invocationSequenceNumber: sequence,
            multipleUnitUsage: [
              {
                ratingGroup: 10,
                ...(usage.requested === true ? { requestedUnit: {} } : {}),
                ...(usage.usedBytes === undefined
                  ? {}
                  : {
                      usedUnitContainer: [
                        {
                          quotaManagementIndicator: 'ONLINE_CHARGING',
                          totalVolume: usage.usedBytes,
                          localSequenceNumber: 1,
                        },
                      ],
                    }),
              },
            ],
          });
          const rows: Array<Record<string, string | number>> = [];
          try {
            for (const subscriber of subscribers) {
              for (let s = 0; s < o.sessions; s++) {
                const half = Math.floor((o.usedMb * MB) / 2);
                const created = await client.create(request(subscriber.msisdn, 0, { requested: true }));
                if (created.status !== 201) {
                  rows.push({
                    msisdn: subscriber.msisdn,
                    session: '',
                    step: 'create',
                    status: created.status,
                    detail: created.text.slice(0, 120),
                  });
                  continue;
                }
                const ref = refFromLocation(created.headers.location as string | undefined) ?? '';
                rows.push({
                  msisdn: subscriber.msisdn,
                  session: ref,
                  step: 'create',
                  status: 201,
                  detail: `granted ${granted(created.body)} bytes ${resultOf(created.body)}`,
                });
                const updated = await client.update(
                  ref,
                  request(subscriber.msisdn, 1, { requested: true, usedBytes: half }),
                );
                rows.push({
                  msisdn: subscriber.msisdn,
                  session: ref,
                  step: 'update',
                  status: updated.status,
                  detail: `used ${half} bytes, granted ${granted(updated.body)} bytes ${resultOf(updated.body)}`,
                });
                const released = await client.release(
                  ref,
                  request(subscriber.msisdn, 2, { usedBytes: o.usedMb * MB - half }),
                );
                rows.push({
                  msisdn: subscriber.msisdn,
                  session: ref,
                  step: 'release',
                  status: released.status,
                  detail: `used ${o.usedMb * MB - half} bytes`,
                });
              }
            }
          } catch (error) {
            throw fail(
              CommonErrors.unavailable,
              `no answer from the CHF at ${baseUrl} (${error instanceof Error ? error.message : String(error)}): start it with TOLLGATE_NCHF_ENABLED=true npm start`,
              { field: '--url' },
            );
          } finally {
            await client.close();
          }

          const after = await listBalances(app, caller.tenantId, { limit: 1000 });
          const mine = new Set(subscribers.flatMap((s) => [s.subscriptionId, s.accountId]));
          const balanceRows = after
            .filter((b) => mine.has(b.ownerId))
            .map((b) => ({
              balance: b.id,
              owner: `${b.ownerKind} ${b.ownerId}`,
              available: shown(b),
              movements: b.version,
            }));
          out.result({ sessions: rows, balances: balanceRows }, () =>
            [
              table(rows, ['msisdn', 'session', 'step', 'status', 'detail']),
              '',
              'Balances after (the data bucket pays first, then money):',
              table(balanceRows, ['balance', 'owner', 'available', 'movements']),
            ].join('\n'),
          );
        }),
    );
}
