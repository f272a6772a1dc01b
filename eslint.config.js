import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The layers: core/ (the analysis, the contracts, small utilities) at the bottom, transport/ on it,
 * then operator/, worker/, plotter/ and local/ side by side, each on core/ and transport/ only, and
 * cli/ on top, wiring them together. An import that reaches up or sideways fails the lint.
 */
const ROLES = ['operator', 'worker', 'plotter', 'local'];
const importsOf = (folders) => ({
  regex: `(^|/)(${folders.join('|')})/`,
  message: 'core/ and transport/ are shared; operator/, worker/, plotter/ and local/ never import each other (cli/ wires them): see docs/contracts.md',
});
const layer = (folder, forbidden) => ({
  files: [`${folder}/**/*.ts`],
  rules: { 'no-restricted-imports': ['error', { patterns: [importsOf(forbidden)] }] },
});

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'helm/', 'reference/', '.cache/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: globals.node },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  layer('core', ['transport', ...ROLES, 'cli']),
  layer('transport', [...ROLES, 'cli']),
  ...ROLES.map((role) => layer(role, [...ROLES.filter((r) => r !== role), 'cli'])),
);
