import { dirname, join, resolve } from 'node:path';
import type { Config } from '../kernel/config.js';

/** Where the demo keeps its admin key, so later starts can print it again (demo databases only). */
export function demoKeyFile(config: Config): string {
  const url = config.databaseUrl;
  const base =
    url.startsWith('sqlite:') && url !== 'sqlite::memory:' ? dirname(resolve(url.slice(7))) : resolve('data');
  return join(base, 'demo-admin.key');
}
