// The benchmarks of issues 5, 6 and 7, after `test/bench/run.ts`: what the hash chain
// costs and how fast it verifies (live delivery and sinks are run.ts's sections "live" and "sinks"), popup open time
// and bundle sizes, event -> desktop notification. Writes its block into BENCHMARKS.md
// between markers, replacing the last one (run.ts rewrites the rest of the file).
//   npx tsx test/bench/extra.ts [--quick]
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { formatNotifyBenchmark, runNotifyBenchmark } from '../browser/notifyTiming.js';
import { formatPopupBenchmark, runPopupBenchmark } from '../browser/popupTiming.js';
import { chromiumAvailable } from '../support/browser.js';
import { formatIntegrityBench, runIntegrityBench } from './integrity.js';
import { loadAverage, log, REPO_ROOT } from './util.js';

const quick = process.argv.includes('--quick');
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const out = path.join(REPO_ROOT, quick ? '.bench-data/BENCHMARKS.extra.quick.md' : 'BENCHMARKS.md');
const START = '<!-- bench:extra:start -->';
const END = '<!-- bench:extra:end -->';

const sections: string[] = [
  `# More benchmarks (\`test/bench/extra.ts\`, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, load average at start ${loadAverage().toFixed(1)})`,
  '',
];
log('extra: integrity');
sections.push(
  formatIntegrityBench(
    await runIntegrityBench(adminUrl, quick ? { ingestRows: 20_000, rounds: 2, verifyEvents: 50_000 } : { ingestRows: 100_000, rounds: 4, verifyEvents: 1_000_000 }),
  ),
);
if (chromiumAvailable) {
  log('extra: popup');
  sections.push(formatPopupBenchmark(await runPopupBenchmark({ opens: 20, events: 1000 })));
  log('extra: notifications');
  sections.push(formatNotifyBenchmark(await runNotifyBenchmark({ events: quick ? 10 : 50 })));
} else {
  sections.push('Popup and notification benchmarks: skipped, no Chromium at /usr/bin/chromium.', '');
}

const block = `${START}\n${sections.join('\n')}\n${END}\n`;
const current = await readFile(out, 'utf8').catch(() => '');
const at = current.indexOf(START);
const next = at >= 0 ? current.slice(0, at) + block + current.slice(current.indexOf(END) + END.length + 1) : `${current.trimEnd()}\n\n${block}`;
await writeFile(out, next);
log(`extra: wrote ${path.relative(REPO_ROOT, out)}`);
