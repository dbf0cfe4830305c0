// axe-core run inside a real page: injected through DevTools (extension pages' CSP allows
// no inline script), its findings returned to the test.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeFinding {
  id: string;
  impact: string | null;
  targets: string[];
}

/**
 * What axe-core finds of `impacts` on the page as it is now, within `selector` (the whole
 * document by default). Throws when axe checked nothing, so an empty answer means something.
 */
export async function axeFindings(page: Page, options: { selector?: string; impacts?: string[] } = {}): Promise<AxeFinding[]> {
  const impacts = options.impacts ?? ['serious', 'critical'];
  await page.evaluate(await AXE_SOURCE);
  const findings = await page.evaluate(async (selector) => {
    type Result = { passes: unknown[]; violations: { id: string; impact: string | null; nodes: { target: unknown[] }[] }[] };
    const axe = (globalThis as unknown as { axe: { run(context: unknown): Promise<Result> } }).axe;
    const result = await axe.run(selector ?? document);
    if (!result.passes.length) throw new Error('axe-core checked nothing');
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, targets: v.nodes.map((n) => JSON.stringify(n.target)) }));
  }, options.selector ?? null);
  return findings.filter((f) => f.impact !== null && impacts.includes(f.impact));
}

/** Findings as lines a failed assertion shows. */
export const describeFindings = (findings: AxeFinding[]): string[] => findings.map((f) => `${f.id} (${f.impact}) ${f.targets.slice(0, 3).join(' ')}`);
