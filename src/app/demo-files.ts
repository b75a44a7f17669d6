/** Finds the example files the demo seeds from, shipped in the repository under examples/. */
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DemoFiles } from '../workflows/demo.js';

/** The repository root: this file sits in src/app (or dist/app once built). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export const DEMO_CATALOG_FILE = join(ROOT, 'examples', 'catalog', 'demo-operator.yaml');
export const DEMO_CUSTOMERS_FILE = join(ROOT, 'examples', 'customers', 'demo-customers.csv');
export const DEMO_USAGE_SOURCES_FILE = join(ROOT, 'examples', 'usage', 'sources.yaml');

export function loadDemoFiles(): DemoFiles {
  const read = (path: string) => ({
    file: relative(process.cwd(), path) || path,
    text: readFileSync(path, 'utf8'),
  });
  return {
    catalog: read(DEMO_CATALOG_FILE),
    customers: read(DEMO_CUSTOMERS_FILE),
    usageSources: read(DEMO_USAGE_SOURCES_FILE),
  };
}
