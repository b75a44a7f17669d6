/**
 * Configuration: one declared list of settings, read from the environment (TOLLGATE_*) and an
 * optional file (JSON or YAML, keys as in `key` below), the environment winning. Everything is
 * validated at start, and a bad value stops the process with an error naming the setting, the
 * value's source and what is wrong. This module is pure: the caller passes the environment and
 * the parsed file in.
 */
import { CommonErrors, fail } from './errors.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Config {
  readonly databaseUrl: string;
  readonly host: string;
  readonly port: number;
  readonly logLevel: LogLevel;
  readonly bodyLimitBytes: number;
  /** HMAC secret for signed bearer tokens; bearer tokens are refused when unset. */
  readonly tokenSecret: string | undefined;
  readonly webhooksEnabled: boolean;
  readonly webhookPollMs: number;
  readonly webhookTimeoutMs: number;
  readonly webhookMaxAttempts: number;
  readonly idempotencyRetentionHours: number;
  readonly shutdownGraceMs: number;
  /** Seed the demo tenant, data and admin key when the database is empty. */
  readonly demo: boolean;
  /** Run the Nchf converged charging server (docs/nchf.md) in `tollgate serve`. */
  readonly nchfEnabled: boolean;
  readonly nchfHost: string;
  readonly nchfPort: number;
  /** How long a granted quota is valid (the server's Tcc): unreported reservations expire after it. */
  readonly chargingValiditySeconds: number;
  /** How often `tollgate serve` releases expired reservations (0: never; run it by hand). */
  readonly chargingSweepSeconds: number;
  /** How often `tollgate serve` grants the period's allowances to prepaid and hybrid subscriptions (0: never). */
  readonly chargingGrantSeconds: number;
  /** Run the Diameter Gy/Ro credit-control server (docs/diameter.md) in `tollgate serve`. */
  readonly diameterEnabled: boolean;
  readonly diameterHost: string;
  readonly diameterPort: number;
  /** Our DiameterIdentity (Origin-Host) and realm (Origin-Realm). */
  readonly diameterOriginHost: string;
  readonly diameterOriginRealm: string;
  /** The tenant (slug) whose subscribers the Diameter server charges; required when enabled. */
  readonly diameterTenant: string | undefined;
  /** Run the RADIUS accounting server (docs/radius.md) in `tollgate serve`. */
  readonly radiusEnabled: boolean;
  readonly radiusHost: string;
  readonly radiusPort: number;
  /** The usage source (format radius) the accounting is recorded under; required when enabled. */
  readonly radiusSource: string | undefined;
  /** The tenant (slug or id) the source belongs to; required when enabled. */
  readonly radiusTenant: string | undefined;
  /** A YAML or JSON file listing the RADIUS clients; required when enabled. */
  readonly radiusClientsFile: string | undefined;
  /** The attribute that names the subscriber (`RADIUS_IDENTITY_ATTRIBUTES`). */
  readonly radiusIdentityAttribute: RadiusIdentityAttributeName;
  /** Take the APN from Called-Station-Id (3GPP gateways). */
  readonly radiusApnFromCalledStationId: boolean;
  /**
   * The clients of `radiusClientsFile`, read by the configuration loader (app/config.ts); empty
   * until then. Not a setting of its own: secrets stay in that file, never in the environment.
   */
  readonly radiusClients: readonly RadiusClientEntry[];
}

/** One RADIUS client as the clients file lists it: an address or CIDR block and its shared secret. */
export interface RadiusClientEntry {
  readonly address: string;
  /** Never logged: `describeConfig` shows "(set)". */
  readonly secret: string;
  readonly name?: string;
}

/**
 * The RADIUS attributes that can name the subscriber (the keys of IDENTITY_ATTRIBUTES in
 * protocols/radius/accounting.ts; the kernel imports nothing of ours, a test keeps them equal).
 */
export const RADIUS_IDENTITY_ATTRIBUTES = [
  'User-Name',
  'Calling-Station-Id',
  'NAS-Port-Id',
  'Agent-Circuit-Id',
  '3GPP-IMSI',
] as const;
export type RadiusIdentityAttributeName = (typeof RADIUS_IDENTITY_ATTRIBUTES)[number];

type Kind = 'string' | 'integer' | 'boolean';

type SettingKey = Exclude<keyof Config, 'radiusClients'>;

interface Setting<K extends SettingKey> {
  readonly key: K;
  readonly env: string;
  readonly kind: Kind;
  readonly description: string;
  readonly default: Config[K];
  readonly check?: (value: Config[K]) => string | undefined;
  readonly secret?: boolean;
}

function setting<K extends SettingKey>(s: Setting<K>): Setting<K> {
  return s;
}

const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

const inRange = (min: number, max: number) => (v: number) =>
  v < min || v > max ? `must be between ${min} and ${max}` : undefined;

export const SETTINGS = [
  setting({
    key: 'databaseUrl',
    env: 'TOLLGATE_DATABASE_URL',
    kind: 'string',
    description:
      'sqlite:PATH (default, embedded), postgres://user@host/db, or pglite:DIR or pglite:memory. DATABASE_URL is read too.',
    default: 'sqlite:./data/tollgate.db',
    check: (v) =>
      /^(sqlite:|postgres(ql)?:\/\/|pglite:)/.test(v)
        ? undefined
        : 'must start with sqlite:, postgres://, postgresql:// or pglite:',
  }),
  setting({
    key: 'host',
    env: 'TOLLGATE_HOST',
    kind: 'string',
    description: 'Address the API listens on.',
    default: '127.0.0.1',
  }),
  setting({
    key: 'port',
    env: 'TOLLGATE_PORT',
    kind: 'integer',
    description: 'API port (0 = any free port).',
    default: 8080,
    check: inRange(0, 65535),
  }),
  setting({
    key: 'logLevel',
    env: 'TOLLGATE_LOG_LEVEL',
    kind: 'string',
    description: `One of ${LOG_LEVELS.join(', ')}.`,
    default: 'info',
    check: (v) => (LOG_LEVELS.includes(v) ? undefined : `must be one of ${LOG_LEVELS.join(', ')}`),
  }),
  setting({
    key: 'bodyLimitBytes',
    env: 'TOLLGATE_BODY_LIMIT_BYTES',
    kind: 'integer',
    description: 'Largest accepted request body.',
    default: 1_048_576,
    check: inRange(1024, 1_073_741_824),
  }),
  setting({
    key: 'tokenSecret',
    env: 'TOLLGATE_TOKEN_SECRET',
    kind: 'string',
    description:
      'HMAC-SHA256 secret for signed bearer tokens (at least 32 characters). Unset: tokens refused.',
    default: undefined,
    secret: true,
    check: (v) => (v !== undefined && v.length < 32 ? 'must be at least 32 characters' : undefined),
  }),
  setting({
    key: 'webhooksEnabled',
    env: 'TOLLGATE_WEBHOOKS_ENABLED',
    kind: 'boolean',
    description: 'Run the webhook dispatcher in this process.',
    default: true,
  }),
  setting({
    key: 'webhookPollMs',
    env: 'TOLLGATE_WEBHOOK_POLL_MS',
    kind: 'integer',
    description: 'How often the dispatcher looks for work.',
    default: 1000,
    check: inRange(10, 3_600_000),
  }),
  setting({
    key: 'webhookTimeoutMs',
    env: 'TOLLGATE_WEBHOOK_TIMEOUT_MS',
    kind: 'integer',
    description: 'Timeout of one webhook POST.',
    default: 10_000,
    check: inRange(100, 120_000),
  }),
  setting({
    key: 'webhookMaxAttempts',
    env: 'TOLLGATE_WEBHOOK_MAX_ATTEMPTS',
    kind: 'integer',
    description: 'Attempts before a delivery is marked failed.',
    default: 12,
    check: inRange(1, 100),
  }),
  setting({
    key: 'idempotencyRetentionHours',
    env: 'TOLLGATE_IDEMPOTENCY_RETENTION_HOURS',
    kind: 'integer',
    description: 'How long Idempotency-Key responses are kept.',
    default: 72,
    check: inRange(1, 24 * 365),
  }),
  setting({
    key: 'shutdownGraceMs',
    env: 'TOLLGATE_SHUTDOWN_GRACE_MS',
    kind: 'integer',
    description: 'How long shutdown waits for requests in flight.',
    default: 10_000,
    check: inRange(0, 600_000),
  }),
  setting({
    key: 'demo',
    env: 'TOLLGATE_DEMO',
    kind: 'boolean',
    description: 'Seed demo data into an empty database at start.',
    default: false,
  }),
  setting({
    key: 'nchfEnabled',
    env: 'TOLLGATE_NCHF_ENABLED',
    kind: 'boolean',
    description:
      'Run the 5G Nchf_ConvergedCharging server in `tollgate serve` (HTTP/2 cleartext and HTTP/1.1; callers present an API key with the network-element role).',
    default: false,
  }),
  setting({
    key: 'nchfHost',
    env: 'TOLLGATE_NCHF_HOST',
    kind: 'string',
    description: 'Address the Nchf server listens on (open it to the core network deliberately).',
    default: '127.0.0.1',
  }),
  setting({
    key: 'nchfPort',
    env: 'TOLLGATE_NCHF_PORT',
    kind: 'integer',
    description: 'TCP port of the Nchf server (0 = any free port).',
    default: 8081,
    check: inRange(0, 65535),
  }),
  setting({
    key: 'chargingValiditySeconds',
    env: 'TOLLGATE_CHARGING_VALIDITY_SECONDS',
    kind: 'integer',
    description:
      'How long a granted quota stays reserved without a report (the validity time sent to the network); then it expires and its holds go back.',
    default: 900,
    check: inRange(1, 86_400),
  }),
  setting({
    key: 'chargingSweepSeconds',
    env: 'TOLLGATE_CHARGING_SWEEP_SECONDS',
    kind: 'integer',
    description:
      'How often `tollgate serve` releases the reservations whose validity ended (0 = never; `tollgate reservations expire` does it by hand).',
    default: 30,
    check: inRange(0, 86_400),
  }),
  setting({
    key: 'chargingGrantSeconds',
    env: 'TOLLGATE_CHARGING_GRANT_SECONDS',
    kind: 'integer',
    description:
      'How often `tollgate serve` grants the allowance buckets of the current period to prepaid and hybrid subscriptions, and once at start (0 = never; `tollgate balances grant-allowances` does it by hand).',
    default: 3600,
    check: inRange(0, 86_400),
  }),
  setting({
    key: 'diameterEnabled',
    env: 'TOLLGATE_DIAMETER_ENABLED',
    kind: 'boolean',
    description:
      'Run the Diameter Gy/Ro credit-control server in `tollgate serve` (needs TOLLGATE_DIAMETER_TENANT).',
    default: false,
  }),
  setting({
    key: 'diameterHost',
    env: 'TOLLGATE_DIAMETER_HOST',
    kind: 'string',
    description: 'Address the Diameter server listens on (open it to the signalling network deliberately).',
    default: '127.0.0.1',
  }),
  setting({
    key: 'diameterPort',
    env: 'TOLLGATE_DIAMETER_PORT',
    kind: 'integer',
    description: 'TCP port of the Diameter server (0 = any free port).',
    default: 3868,
    check: inRange(0, 65535),
  }),
  setting({
    key: 'diameterOriginHost',
    env: 'TOLLGATE_DIAMETER_ORIGIN_HOST',
    kind: 'string',
    description: 'Our DiameterIdentity, sent as Origin-Host.',
    default: 'ocs.tollgate.localdomain',
    check: (v) => (v.trim() === '' ? 'must not be empty' : undefined),
  }),
  setting({
    key: 'diameterOriginRealm',
    env: 'TOLLGATE_DIAMETER_ORIGIN_REALM',
    kind: 'string',
    description: 'Our realm, sent as Origin-Realm.',
    default: 'tollgate.localdomain',
    check: (v) => (v.trim() === '' ? 'must not be empty' : undefined),
  }),
  setting({
    key: 'diameterTenant',
    env: 'TOLLGATE_DIAMETER_TENANT',
    kind: 'string',
    description: 'The tenant (slug) whose subscribers the Diameter server charges.',
    default: undefined,
  }),
  setting({
    key: 'radiusEnabled',
    env: 'TOLLGATE_RADIUS_ENABLED',
    kind: 'boolean',
    description:
      'Run the RADIUS accounting server in `tollgate serve` (needs TOLLGATE_RADIUS_SOURCE, _TENANT and _CLIENTS_FILE).',
    default: false,
  }),
  setting({
    key: 'radiusHost',
    env: 'TOLLGATE_RADIUS_HOST',
    kind: 'string',
    description: 'Address the RADIUS accounting server listens on (open it to the NAS network deliberately).',
    default: '127.0.0.1',
  }),
  setting({
    key: 'radiusPort',
    env: 'TOLLGATE_RADIUS_PORT',
    kind: 'integer',
    description: 'UDP port of the RADIUS accounting server (0 = any free port).',
    default: 1813,
    check: inRange(0, 65535),
  }),
  setting({
    key: 'radiusSource',
    env: 'TOLLGATE_RADIUS_SOURCE',
    kind: 'string',
    description: 'The usage source (format radius) RADIUS accounting is recorded under.',
    default: undefined,
  }),
  setting({
    key: 'radiusTenant',
    env: 'TOLLGATE_RADIUS_TENANT',
    kind: 'string',
    description: 'The tenant (slug) of that source.',
    default: undefined,
  }),
  setting({
    key: 'radiusClientsFile',
    env: 'TOLLGATE_RADIUS_CLIENTS_FILE',
    kind: 'string',
    description:
      'YAML or JSON list of RADIUS clients: { address (or cidr), secret, name }. Secrets are never logged.',
    default: undefined,
  }),
  setting({
    key: 'radiusIdentityAttribute',
    env: 'TOLLGATE_RADIUS_IDENTITY_ATTRIBUTE',
    kind: 'string',
    description: `The attribute naming the subscriber: ${RADIUS_IDENTITY_ATTRIBUTES.join(', ')}.`,
    default: 'User-Name',
    check: (v) =>
      (RADIUS_IDENTITY_ATTRIBUTES as readonly string[]).includes(v)
        ? undefined
        : `must be one of ${RADIUS_IDENTITY_ATTRIBUTES.join(', ')}`,
  }),
  setting({
    key: 'radiusApnFromCalledStationId',
    env: 'TOLLGATE_RADIUS_APN_FROM_CALLED_STATION_ID',
    kind: 'boolean',
    description: 'Take the APN of data usage from Called-Station-Id (3GPP TS 29.061 gateways).',
    default: false,
  }),
] as const;

export type Source = { readonly name: string; readonly values: Readonly<Record<string, unknown>> };

function coerce(kind: Kind, raw: unknown): { value?: unknown; error?: string } {
  if (kind === 'string') {
    if (typeof raw !== 'string') return { error: 'must be a string' };
    return { value: raw };
  }
  if (kind === 'integer') {
    if (typeof raw === 'number' && Number.isSafeInteger(raw)) return { value: raw };
    if (typeof raw === 'string' && /^-?\d{1,15}$/.test(raw.trim())) return { value: Number(raw.trim()) };
    return { error: 'must be a whole number' };
  }
  if (typeof raw === 'boolean') return { value: raw };
  if (typeof raw === 'string') {
    const text = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(text)) return { value: true };
    if (['0', 'false', 'no', 'off'].includes(text)) return { value: false };
  }
  return { error: 'must be true or false' };
}

/**
 * Builds the configuration from the environment and an optional file. Unknown keys in the file
 * are refused (a typo must not silently fall back to a default).
 */
export function parseConfig(env: Readonly<Record<string, string | undefined>>, file?: Source): Config {
  const known = new Set<string>(SETTINGS.map((s) => s.key));
  const problems: Array<{ field: string; message: string }> = [];
  if (file) {
    for (const key of Object.keys(file.values)) {
      if (!known.has(key)) problems.push({ field: key, message: `${file.name}: unknown setting "${key}"` });
    }
  }
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    let raw: unknown;
    let origin: string;
    const fromEnv = env[s.env] ?? (s.key === 'databaseUrl' ? env.DATABASE_URL : undefined);
    if (fromEnv !== undefined && fromEnv !== '') {
      raw = fromEnv;
      origin = env[s.env] !== undefined ? s.env : 'DATABASE_URL';
    } else if (file && file.values[s.key] !== undefined) {
      raw = file.values[s.key];
      origin = `${file.name}: ${s.key}`;
    } else {
      out[s.key] = s.default;
      continue;
    }
    const { value, error } = coerce(s.kind, raw);
    const shown = s.secret ? '(hidden)' : JSON.stringify(raw);
    if (error) {
      problems.push({ field: s.env, message: `${origin} = ${shown}: ${error}` });
      continue;
    }
    const checkError = (s.check as ((v: unknown) => string | undefined) | undefined)?.(value);
    if (checkError) {
      problems.push({ field: s.env, message: `${origin} = ${shown}: ${checkError}` });
      continue;
    }
    out[s.key] = value;
  }
  if (out.radiusEnabled === true) {
    for (const s of SETTINGS) {
      if (
        (s.key === 'radiusSource' || s.key === 'radiusTenant' || s.key === 'radiusClientsFile') &&
        (out[s.key] === undefined || String(out[s.key]).trim() === '')
      ) {
        problems.push({ field: s.env, message: `${s.env} is required when TOLLGATE_RADIUS_ENABLED is on` });
      }
    }
  }
  if (
    out.diameterEnabled === true &&
    (out.diameterTenant === undefined || String(out.diameterTenant).trim() === '')
  ) {
    problems.push({
      field: 'TOLLGATE_DIAMETER_TENANT',
      message: 'TOLLGATE_DIAMETER_TENANT is required when TOLLGATE_DIAMETER_ENABLED is on',
    });
  }
  out.radiusClients = [];
  if (problems.length > 0) {
    throw fail(
      CommonErrors.invalid_config,
      `invalid configuration: ${problems.map((p) => p.message).join('; ')}`,
      {
        field: problems[0]!.field,
        errors: problems,
      },
    );
  }
  return out as unknown as Config;
}

/** The configuration with secrets masked, for logs and `tollgate config show`. */
export function describeConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    const value = config[s.key];
    out[s.key] = s.secret && value !== undefined ? '(set)' : value;
  }
  if (config.radiusClients.length > 0) {
    out.radiusClients = config.radiusClients.map((client) => ({
      address: client.address,
      ...(client.name !== undefined ? { name: client.name } : {}),
      secret: '(set)',
    }));
  }
  return out;
}
