// The import rules of docs/architecture.md, checked on every CI run (npm run lint).
const FACES = '(api|cli|protocols|portal)';
const NOT_DOMAIN = 'kernel|storage|api|cli|protocols|portal|app|workflows|testing';
const DOMAIN = `src/(?!(?:${NOT_DOMAIN})/)[^/]+/`;

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'Dependency cycles make layers meaningless and initialisation order fragile.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'kernel-imports-nothing-of-ours',
      severity: 'error',
      comment:
        'The kernel (money, time, ids, errors, config) is the bottom layer: it imports no other folder.',
      from: { path: '^src/kernel/' },
      to: { path: '^src/(?!kernel/)', pathNot: '^src/testing/assert-fails\\.ts$' },
    },
    {
      name: 'storage-knows-no-domain',
      severity: 'error',
      comment:
        'storage/ is the database plumbing; domains plug their tables into it, not the other way round.',
      from: { path: '^src/storage/', pathNot: '\\.test\\.ts$' },
      to: { path: '^src/(?!kernel/|storage/)' },
    },
    {
      name: 'domain-cores-are-pure',
      severity: 'error',
      comment:
        "A domain's model and logic (everything but its store, migrations, public index and I/O adapters) never touch the database.",
      from: { path: `^${DOMAIN}`, pathNot: '(store|migrations|index|dispatcher)\\.ts$|\\.test\\.ts$' },
      to: { path: '^src/storage/|/(store|migrations)\\.ts$' },
    },
    {
      name: 'domains-never-import-faces-or-workflows',
      severity: 'error',
      comment: 'Domains sit below the use cases and the faces.',
      from: { path: `^${DOMAIN}`, pathNot: '\\.test\\.ts$' },
      to: { path: `^src/(${FACES}|app|workflows)/` },
    },
    {
      name: 'faces-never-import-stores',
      severity: 'error',
      comment: 'The API, CLI and protocol servers translate and call workflows; they never touch tables.',
      from: { path: `^src/${FACES}/`, pathNot: '\\.test\\.ts$' },
      to: { path: '^src/storage/|/(store|migrations)\\.ts$' },
    },
    {
      name: 'one-public-module-per-domain',
      severity: 'error',
      comment:
        'Outside a domain, only its index.ts is imported; workflows and the composition root may also reach its store and migrations.',
      from: { path: '^src/(api|cli|protocols|portal)/' },
      to: { path: `^${DOMAIN}(?!index\\.ts$)` },
    },
    {
      name: 'domains-talk-through-index',
      severity: 'error',
      comment: "A domain may use another domain's public module only.",
      from: { path: '^src/([^/]+)/', pathNot: `^src/(${NOT_DOMAIN})/|\\.test\\.ts$` },
      to: { path: `^${DOMAIN}(?!index\\.ts$)`, pathNot: '^src/$1/' },
    },
    {
      name: 'tests-helpers-stay-in-tests',
      severity: 'error',
      comment: 'src/testing is for tests only.',
      from: { path: '^src/', pathNot: '\\.test\\.ts$|^src/testing/' },
      to: { path: '^src/testing/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
      extensions: ['.ts', '.js'],
    },
    exclude: { path: 'node_modules' },
  },
};
