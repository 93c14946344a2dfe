// Lint: ESLint's recommended rules and typescript-eslint's (syntax only: fast, no type information),
// over every TypeScript source. Formatting is left to the code's own consistent style.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config({ ignores: ['node_modules/', 'results/', 'tools/', 'coverage/'] }, js.configs.recommended, ...tseslint.configs.recommended, {
  files: ['**/*.ts'],
  rules: {
    // `_name` marks a parameter a signature needs and the body does not
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
  },
})
