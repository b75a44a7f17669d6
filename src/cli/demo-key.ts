import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Config } from '../kernel/config.js';

/** Where the demo keeps its admin key, so later starts can print it again (demo databases only). */
export function demoKeyFile(config: Config): string {
  const url = config.databaseUrl;
  const base =
    url.startsWith('sqlite:') && url !== 'sqlite::memory:' ? dirname(resolve(url.slice(7))) : resolve('data');
  return join(base, 'demo-admin.key');
}

/** Keeps the demo admin key readable by its owner only, so later starts can print it again. */
export function saveDemoKey(config: Config, key: string): void {
  const file = demoKeyFile(config);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
}

/** The demo admin key saved by an earlier seed, if there is one. */
export function readDemoKey(config: Config): string | undefined {
  const file = demoKeyFile(config);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** Where the demo writes its day of usage files (beside the demo database). */
export function demoUsageDirectory(config: Config): string {
  return join(dirname(demoKeyFile(config)), 'demo-usage');
}
