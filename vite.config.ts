// One Vite config: the extension build (`vite build`, see extension/build/config.ts)
// and the test runner's settings.
import { defineConfig } from 'vitest/config';
import { extensionBuildConfig } from './extension/build/config.js';

export default defineConfig(({ command }) => ({
  ...(command === 'build' ? extensionBuildConfig() : {}),
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Every recorded event is a log line: quiet unless asked (LOG_LEVEL=info npm test).
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  },
}));
