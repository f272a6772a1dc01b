import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

/**
 * The layers: core/ (the analysis, the contracts, small utilities) at the bottom, transport/ on it,
 * then operator/, worker/, plotter/ and local/ side by side, each on core/ and transport/ only, and
 * cli/ on top, wiring them together. An import that reaches up or sideways fails the lint.
 */
const ROLES = ['operator', 'worker', 'plotter', 'local'];
const layer = (folder, forbidden, message) => ({
  files: [`${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ regex: `(^|/)(${forbidden.join('|')})/`, message: `${message} (docs/contracts.md, "The layers")` }] }],
  },
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
  layer('core', ['transport', ...ROLES, 'cli'], 'core/ is the bottom layer: it imports no other folder'),
  layer('transport', [...ROLES, 'cli'], 'transport/ stands on core/ only'),
  ...ROLES.map((role) => layer(role, [...ROLES.filter((r) => r !== role), 'cli'],
    'operator/, worker/, plotter/ and local/ stand side by side on core/ and transport/ and never import each other; cli/ wires them together')),
);
