import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// The architecture as layers (docs/design.md, "Architecture"): a folder imports only from the
// layers below it. `runtime` knows no domain word; `api` is the contract; `keys` stands alone;
// `placement`, `policy` and `storage` never reach up into the hub steps or the controllers; the
// hub steps never into the controllers; controllers never into the operator's composition or
// the command line. `report` reads the cluster's state with the domain's pure verdicts, for the
// command line only.
const FOLDERS = [
  'api',
  'runtime',
  'keys',
  'placement',
  'policy',
  'storage',
  'hub',
  'controllers',
  'report',
  'cli',
  'devcluster',
];
const LAYERS = {
  runtime: [],
  api: ['runtime'],
  keys: ['api', 'runtime'],
  placement: ['api', 'runtime', 'policy'],
  policy: ['api', 'runtime', 'placement'],
  storage: ['api', 'runtime', 'placement', 'policy'],
  hub: ['api', 'runtime', 'keys', 'placement', 'policy', 'storage'],
  controllers: ['api', 'runtime', 'keys', 'placement', 'policy', 'storage', 'hub'],
  report: ['api', 'runtime', 'keys', 'placement', 'policy', 'storage'],
};
const layering = Object.entries(LAYERS).map(([layer, allowed]) => {
  const forbidden = FOLDERS.filter((f) => f !== layer && !allowed.includes(f));
  return {
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\./)+(${forbidden.join('|')}|operator\\.js)(/|$)`,
              message: `src/${layer} may import only from ${allowed.length ? allowed.map((a) => `src/${a}`).join(', ') : 'its own folder'} (layering, docs/design.md)`,
            },
          ],
        },
      ],
    },
  };
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'charts/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: { globals: { console: 'readonly', process: 'readonly', performance: 'readonly' } },
  },
  ...layering,
);
