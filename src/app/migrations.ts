/**
 * Every domain's migrations, in the order they run. A domain that adds tables adds its list here
 * with the next number; names must sort in run order (checked by storage/migrate.ts).
 */
import type { MigrationList } from '../storage/migrate.js';
import { tenancyMigrations } from '../tenancy/migrations.js';
import { accessMigrations } from '../access/migrations.js';
import { auditMigrations } from '../audit/migrations.js';
import { idempotencyMigrations } from '../idempotency/migrations.js';
import { eventsMigrations } from '../events/migrations.js';
import { customersMigrations } from '../customers/migrations.js';
import { catalogMigrations } from '../catalog/migrations.js';
import { usageMigrations } from '../usage/migrations.js';
import { chargingMigrations } from '../charging/migrations.js';
import { voucherMigrations } from '../charging/voucher-migrations.js';

export const allMigrations: MigrationList = [
  tenancyMigrations,
  accessMigrations,
  auditMigrations,
  eventsMigrations,
  idempotencyMigrations,
  catalogMigrations,
  customersMigrations,
  usageMigrations,
  chargingMigrations,
  voucherMigrations,
]
  .flatMap((set) => Object.entries(set))
  .sort(([a], [b]) => a.localeCompare(b));
