// A setup file (vite.config.ts): the log lines of servers started in-process by a test
// file are kept, not printed, and shown only for a test that fails, so `npm test`
// reads as results. Servers in their own process (childServer.ts) keep their output too.
import { beforeEach } from 'vitest';
import { redirectLogs } from '../../server/logger.js';

/** The most kept per test (the newest lines win). */
const MAX_CHARS = 1_000_000;

/** Lines logged before the first test (beforeAll) belong to it; then each test has its own. */
let kept = '';
let truncated = false;

redirectLogs({
  write(chunk) {
    kept += chunk;
    if (kept.length > MAX_CHARS) {
      kept = kept.slice(kept.indexOf('\n', kept.length - MAX_CHARS / 2) + 1);
      truncated = true;
    }
  },
});

let first = true;

beforeEach(({ task, onTestFailed }) => {
  if (!first) {
    kept = '';
    truncated = false;
  }
  first = false;
  onTestFailed(() => {
    if (!kept) return;
    console.log(`server log during "${task.name}"${truncated ? ' (newest lines)' : ''}:\n${kept}`);
  });
});
