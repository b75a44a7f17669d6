import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeConfig, parseConfig } from './config.js';
import { isTollgateError } from './errors.js';

function configError(run: () => unknown) {
  try {
    run();
  } catch (error) {
    assert.ok(isTollgateError(error), 'expected a TollgateError');
    return error;
  }
  assert.fail('expected the configuration to be refused');
}

describe('configuration', () => {
  it('has working defaults: embedded SQLite under ./data, port 8080', () => {
    const config = parseConfig({});
    assert.equal(config.databaseUrl, 'sqlite:./data/tollgate.db');
    assert.equal(config.port, 8080);
    assert.equal(config.tokenSecret, undefined);
    assert.equal(config.webhooksEnabled, true);
  });

  it('reads the environment, DATABASE_URL as a fallback, and coerces types', () => {
    const config = parseConfig({
      DATABASE_URL: 'postgres://u@h/db',
      TOLLGATE_PORT: '9000',
      TOLLGATE_DEMO: 'yes',
    });
    assert.equal(config.databaseUrl, 'postgres://u@h/db');
    assert.equal(config.port, 9000);
    assert.equal(config.demo, true);
    assert.equal(
      parseConfig({ DATABASE_URL: 'postgres://a@b/c', TOLLGATE_DATABASE_URL: 'sqlite::memory:' }).databaseUrl,
      'sqlite::memory:',
    );
  });

  it('lets the environment win over the file', () => {
    const config = parseConfig(
      { TOLLGATE_PORT: '7000' },
      { name: 'tollgate.yaml', values: { port: 6000, logLevel: 'debug' } },
    );
    assert.equal(config.port, 7000);
    assert.equal(config.logLevel, 'debug');
  });

  it('names the setting, its source and the reason when a value is bad', () => {
    const error = configError(() => parseConfig({ TOLLGATE_PORT: 'abc' }));
    assert.equal(error.code, 'common.invalid_config');
    assert.equal(error.field, 'TOLLGATE_PORT');
    assert.match(error.message, /TOLLGATE_PORT = "abc": must be a whole number/);
    assert.equal(error.exitCode, 78);

    const range = configError(() => parseConfig({ TOLLGATE_PORT: '70000' }));
    assert.match(range.message, /between 0 and 65535/);

    const url = configError(() => parseConfig({ TOLLGATE_DATABASE_URL: 'mysql://x' }));
    assert.match(url.message, /must start with sqlite:/);
  });

  it('reports every problem at once, including unknown keys in the file', () => {
    const error = configError(() =>
      parseConfig({ TOLLGATE_LOG_LEVEL: 'loud' }, { name: 'tollgate.yaml', values: { prot: 1, port: 'x' } }),
    );
    const fields = (error.errors ?? []).map((e) => e.field).sort();
    assert.deepEqual(fields, ['TOLLGATE_LOG_LEVEL', 'TOLLGATE_PORT', 'prot']);
    assert.match(error.message, /unknown setting "prot"/);
  });

  it('never shows a secret, neither in errors nor in the description', () => {
    const error = configError(() => parseConfig({ TOLLGATE_TOKEN_SECRET: 'short-secret' }));
    assert.doesNotMatch(error.message, /short-secret/);
    const secret = 'x'.repeat(40);
    const described = describeConfig(parseConfig({ TOLLGATE_TOKEN_SECRET: secret }));
    assert.equal(described.tokenSecret, '(set)');
    assert.doesNotMatch(JSON.stringify(described), /xxxxxxxx/);
  });

  it('runs no RADIUS server by default, and needs source, tenant and clients file when enabled', () => {
    const config = parseConfig({});
    assert.equal(config.radiusEnabled, false);
    assert.equal(config.radiusHost, '127.0.0.1');
    assert.equal(config.radiusPort, 1813);
    assert.equal(config.radiusIdentityAttribute, 'User-Name');
    assert.deepEqual(config.radiusClients, []);

    const error = configError(() => parseConfig({ TOLLGATE_RADIUS_ENABLED: 'true' }));
    const fields = (error.errors ?? []).map((e) => e.field).sort();
    assert.deepEqual(fields, [
      'TOLLGATE_RADIUS_CLIENTS_FILE',
      'TOLLGATE_RADIUS_SOURCE',
      'TOLLGATE_RADIUS_TENANT',
    ]);
    const bad = configError(() =>
      parseConfig({ TOLLGATE_RADIUS_PORT: '70000', TOLLGATE_RADIUS_IDENTITY_ATTRIBUTE: 'Framed-IP' }),
    );
    assert.match(bad.message, /TOLLGATE_RADIUS_PORT = "70000": must be between 0 and 65535/);
    assert.match(bad.message, /TOLLGATE_RADIUS_IDENTITY_ATTRIBUTE = "Framed-IP": must be one of User-Name/);
  });
});
