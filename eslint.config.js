// Lint and format: ESLint's recommended rules and typescript-eslint's (syntax only: fast, no type
// information), and @stylistic's formatting rules set to the code's own style (no semicolons, single
// quotes, trailing commas on multi-line literals, two-space indent), over every TypeScript source.
import js from '@eslint/js'
import stylistic from '@stylistic/eslint-plugin'
import tseslint from 'typescript-eslint'

export default tseslint.config({ ignores: ['node_modules/', 'results/', 'tools/', 'coverage/'] }, js.configs.recommended, ...tseslint.configs.recommended, {
  files: ['**/*.ts'],
  // the same plugin twice: its max-len once for code and once, longer, for every line (prose included)
  plugins: { '@stylistic': stylistic, prose: stylistic },
  rules: {
    // `_name` marks a parameter a signature needs and the body does not
    '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    '@stylistic/semi': ['error', 'never'],
    '@stylistic/quotes': ['error', 'single', { avoidEscape: true, allowTemplateLiterals: 'always' }],
    '@stylistic/comma-dangle': ['error', 'always-multiline'],
    '@stylistic/indent': ['error', 2, { SwitchCase: 1, flatTernaryExpressions: true, offsetTernaryExpressions: true, ignoredNodes: ['ConditionalExpression *', 'TemplateLiteral *'] }],
    '@stylistic/no-trailing-spaces': 'error',
    '@stylistic/eol-last': 'error',
    '@stylistic/no-multiple-empty-lines': ['error', { max: 1, maxEOF: 0 }],
    '@stylistic/no-tabs': 'error',
    '@stylistic/keyword-spacing': 'error',
    '@stylistic/space-infix-ops': 'error',
    '@stylistic/object-curly-spacing': ['error', 'always'],
    '@stylistic/arrow-spacing': 'error',
    '@stylistic/comma-spacing': 'error',
    '@stylistic/brace-style': ['error', '1tbs', { allowSingleLine: true }],
    // long lines: code wraps at 240 columns (prose in strings and comments may run longer, but not for ever)
    '@stylistic/max-len': ['error', { code: 240, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreComments: true, ignoreRegExpLiterals: true }],
    'prose/max-len': ['error', { code: 400 }],
  },
})
