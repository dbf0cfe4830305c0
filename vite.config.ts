// One Vite config: the extension build (`vite build`, see extension/build/config.ts)
// and the test runner's settings.
import { defineConfig } from 'vitest/config';
import { extensionBuildConfig } from './extension/build/config.js';

export default defineConfig(({ command }) => ({
  ...(command === 'build' ? extensionBuildConfig() : {}),
  test: {
    // Policy tests write machine-wide Chromium policy files: they run alone, after the rest.
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: ['test/policy/**'], sequence: { groupOrder: 0 } } },
      { extends: true, test: { name: 'policy', include: ['test/policy/**/*.test.ts'], fileParallelism: false, sequence: { groupOrder: 1 } } },
    ],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time: most of a browser or outage test is waiting, and vitest's
    // default on 2 cores (one) left the suite at ~28 minutes.
    maxWorkers: 2,
    // Every recorded event is a log line: quiet unless asked (LOG_LEVEL=info npm test).
    env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    // In-process servers' log lines are shown only for a failing test.
    setupFiles: ['test/support/logCapture.ts'],
  },
}));
