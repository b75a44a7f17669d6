/**
 * Reads the configuration file named by TOLLGATE_CONFIG (JSON or YAML) and the environment, and,
 * when RADIUS is enabled, the RADIUS clients file.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Config, type RadiusClientEntry } from '../kernel/config.js';
import { CommonErrors, fail } from '../kernel/errors.js';
import { createClientTable } from '../protocols/radius/clients.js';

export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: Partial<Record<string, string>> = {},
): Config {
  const merged = { ...env, ...overrides };
  const config = parseConfigFile(merged);
  if (!config.radiusEnabled || config.radiusClientsFile === undefined) return config;
  return { ...config, radiusClients: loadRadiusClients(config.radiusClientsFile) };
}

function parseConfigFile(merged: Readonly<Record<string, string | undefined>>): Config {
  const path = merged.TOLLGATE_CONFIG;
  if (!path) return parseConfig(merged);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw fail(
      CommonErrors.invalid_config,
      `TOLLGATE_CONFIG: cannot read ${path}: ${(error as Error).message}`,
      {
        field: 'TOLLGATE_CONFIG',
      },
    );
  }
  let values: unknown;
  try {
    values = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw fail(
      CommonErrors.invalid_config,
      `TOLLGATE_CONFIG: ${path} is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`,
      {
        field: 'TOLLGATE_CONFIG',
      },
    );
  }
  if (values === null || typeof values !== 'object' || Array.isArray(values)) {
    throw fail(CommonErrors.invalid_config, `TOLLGATE_CONFIG: ${path} must hold a mapping of settings`, {
      field: 'TOLLGATE_CONFIG',
    });
  }
  return parseConfig(merged, { name: path, values: values as Record<string, unknown> });
}

const CLIENT_KEYS = new Set(['address', 'cidr', 'secret', 'name']);

/**
 * Reads the RADIUS clients file: a YAML or JSON list (or `{ clients: [...] }`) of
 * `{ address: 192.0.2.10 | cidr: 10.20.0.0/16, secret: ..., name: bng-fra-1 }`. Every entry is
 * checked as the server will check it, so a bad file stops the start (and `config check`).
 * Errors name the entry and the field, never a secret.
 */
export function loadRadiusClients(path: string): RadiusClientEntry[] {
  const field = 'TOLLGATE_RADIUS_CLIENTS_FILE';
  const refuse = (message: string): never => {
    throw fail(CommonErrors.invalid_config, `${field}: ${path}: ${message}`, { field });
  };
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    refuse(`cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let values: unknown;
  try {
    values = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch {
    // The parser's message may quote the file's text, secrets included: say only where.
    refuse(`is not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}`);
  }
  if (values !== null && typeof values === 'object' && !Array.isArray(values) && 'clients' in values) {
    values = (values as { clients: unknown }).clients;
  }
  if (!Array.isArray(values) || values.length === 0) {
    return refuse('must hold a non-empty list of clients ({ address or cidr, secret, name })');
  }
  const clients = values.map((value: unknown, index): RadiusClientEntry => {
    const at = `clients[${index}]`;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return refuse(`${at} must be a mapping`);
    }
    const entry = value as Record<string, unknown>;
    for (const key of Object.keys(entry)) {
      if (!CLIENT_KEYS.has(key)) refuse(`${at}: unknown key "${key}" (address or cidr, secret, name)`);
    }
    const address = entry.address ?? entry.cidr;
    if (entry.address !== undefined && entry.cidr !== undefined)
      refuse(`${at}: give address or cidr, not both`);
    if (typeof address !== 'string' || address.trim() === '') refuse(`${at}: address (or cidr) is required`);
    if (typeof entry.secret !== 'string' || entry.secret === '') {
      refuse(`${at}: secret must be a non-empty string`);
    }
    if (entry.name !== undefined && typeof entry.name !== 'string') refuse(`${at}: name must be a string`);
    return {
      address: (address as string).trim(),
      secret: entry.secret as string,
      ...(typeof entry.name === 'string' && entry.name.trim() !== '' ? { name: entry.name.trim() } : {}),
    };
  });
  try {
    createClientTable(clients);
  } catch (error) {
    refuse((error as Error).message);
  }
  return clients;
}
