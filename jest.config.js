/**
 * Three projects: unit (no network, seconds), integration (real local parts: anvil, DynamoDB Local, fauxqs),
 * infra (CDK assertions). ts-jest transpiles only (tsconfig's isolatedModules; `npm run typecheck` type-checks).
 * @middy is ESM-only on some paths, so it is transpiled (TOOLCHAIN.md, gotcha 10).
 */
const tsJest = ['ts-jest', { diagnostics: false }];
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.[tj]s$': tsJest },
  transformIgnorePatterns: ['/node_modules/(?!(@middy)/)'],
  moduleFileExtensions: ['ts', 'js', 'json'],
  setupFiles: ['<rootDir>/test/setup-env.js'],
};

module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/integration/**/*.test.ts'], slowTestThreshold: 60 },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
  ],
};
