import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeConfig, RADIUS_IDENTITY_ATTRIBUTES } from '../kernel/config.js';
import { isTollgateError } from '../kernel/errors.js';
import { IDENTITY_ATTRIBUTES } from '../protocols/radius/accounting.js';
import { loadConfig, loadRadiusClients } from './config.js';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function refused(run: () => unknown): { message: string; field: string | undefined } {
  try {
    run();
  } catch (error) {
    assert.ok(isTollgateError(error));
    assert.equal(error.code, 'common.invalid_config');
    return { message: error.message, field: error.field };
  }
  return assert.fail('expected the configuration to be refused');
}

describe('configuration: RADIUS clients file', () => {
  const SECRET_A = 'bng-pool-secret-4f1c9';
  const SECRET_B = 'bng-fra-1-secret-77aa0';

  it('reads a YAML list of address or cidr entries, and JSON { clients: [...] }', () => {
    const yaml = file(
      'clients.yaml',
      [
        `- cidr: 10.20.0.0/16`,
        `  secret: ${SECRET_A}`,
        `  name: bng-pool`,
        `- address: 10.20.3.4`,
        `  secret: ${SECRET_B}`,
      ].join('\n'),
    );
    assert.deepEqual(loadRadiusClients(yaml), [
      { address: '10.20.0.0/16', secret: SECRET_A, name: 'bng-pool' },
      { address: '10.20.3.4', secret: SECRET_B },
    ]);
    const json = file(
      'clients.json',
      JSON.stringify({ clients: [{ address: '2001:db8::/32', secret: SECRET_A, name: 'v6' }] }),
    );
    assert.deepEqual(loadRadiusClients(json), [{ address: '2001:db8::/32', secret: SECRET_A, name: 'v6' }]);
  });

  it('refuses bad entries naming the entry, never the secret', () => {
    const cases: Array<[string, RegExp]> = [
      [`- address: 10.0.0.0/33\n  secret: ${SECRET_A}`, /prefix length/],
      [`- address: 10.0.0.1\n  secret: ''`, /clients\[0\]: secret/],
      [`- secret: ${SECRET_A}`, /address \(or cidr\) is required/],
      [`- address: 10.0.0.1\n  secret: ${SECRET_A}\n  port: 1813`, /unknown key "port"/],
      [`- address: 10.0.0.1\n  secret: ${SECRET_A}\n- cidr: 10.0.0.1\n  secret: ${SECRET_B}`, /twice/],
      [`[]`, /non-empty list/],
      [`- address: 10.0.0.1\n  secret: "${SECRET_A}\n  bad: [`, /not valid YAML/],
    ];
    for (const [text, expected] of cases) {
      const { message, field } = refused(() => loadRadiusClients(file('bad.yaml', text)));
      assert.match(message, expected);
      assert.equal(field, 'TOLLGATE_RADIUS_CLIENTS_FILE');
      assert.doesNotMatch(message, /secret-/, 'no secret in the message');
    }
    assert.match(refused(() => loadRadiusClients(join(dir, 'missing.yaml'))).message, /ENOENT/);
  });

  it('is loaded when RADIUS is enabled, and config check masks the secrets', () => {
    const clients = file('nas.yaml', `- address: 192.0.2.10\n  secret: ${SECRET_A}\n  name: bng-1\n`);
    const env = {
      TOLLGATE_RADIUS_ENABLED: 'on',
      TOLLGATE_RADIUS_SOURCE: 'bng-accounting',
      TOLLGATE_RADIUS_TENANT: 'demo',
      TOLLGATE_RADIUS_CLIENTS_FILE: clients,
      TOLLGATE_RADIUS_PORT: '11813',
      TOLLGATE_RADIUS_IDENTITY_ATTRIBUTE: 'NAS-Port-Id',
    };
    const config = loadConfig(env);
    assert.equal(config.radiusEnabled, true);
    assert.equal(config.radiusHost, '127.0.0.1');
    assert.equal(config.radiusPort, 11813);
    assert.equal(config.radiusIdentityAttribute, 'NAS-Port-Id');
    assert.deepEqual(config.radiusClients, [{ address: '192.0.2.10', secret: SECRET_A, name: 'bng-1' }]);
    const described = describeConfig(config);
    assert.deepEqual(described.radiusClients, [{ address: '192.0.2.10', name: 'bng-1', secret: '(set)' }]);
    assert.doesNotMatch(JSON.stringify(described), new RegExp(SECRET_A));

    // Disabled: the file is not read at all.
    const off = loadConfig({ ...env, TOLLGATE_RADIUS_ENABLED: 'off', TOLLGATE_RADIUS_CLIENTS_FILE: '/nope' });
    assert.deepEqual(off.radiusClients, []);
  });

  it('names the same identity attributes as the RADIUS conversion', () => {
    assert.deepEqual([...RADIUS_IDENTITY_ATTRIBUTES].sort(), Object.keys(IDENTITY_ATTRIBUTES).sort());
  });
});
