/** Reads the configuration file named by TOLLGATE_CONFIG (JSON or YAML) and the environment. */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Config } from '../kernel/config.js';
import { CommonErrors, fail } from '../kernel/errors.js';

export function loadConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
  overrides: Partial<Record<string, string>> = {},
): Config {
  const merged = { ...env, ...overrides };
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
