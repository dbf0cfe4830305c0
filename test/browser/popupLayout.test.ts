// The popup and the full view as a keyboard user, a narrow screen and an accessibility
// checker meet them, in real Chromium against a real server: nothing cut from 360 to 800
// px, chip groups and rows as single Tab stops with arrow keys, the first event within 5
// Tab presses, search errors that never sit over another query's results, absolute
// times, and axe-core finding nothing serious on the popup, the full view and options.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { formatQueryError, parseAuditQuery } from '../../shared/query.js';
import { axeFindings, describeFindings } from '../support/axe.js';
import { chromiumAvailable } from '../support/browser.js';
import { useExtensionFixture } from '../support/extensionFixture.js';
import { seed } from './seed.js';

describe.skipIf(!chromiumAvailable)('popup and full view: layout, keyboard, search errors, accessibility', () => {
  const fixture = useExtensionFixture({ prepare: (server) => seed(fixture.server.client, 60) });
  const signedIn = (extra: Record<string, unknown> = {}) => fixture.signInAsAdmin(extra);

  async function settled(page: Page, q: string): Promise<string> {
    const handle = await page.waitForFunction(
      (q) => {
        const main = document.querySelector<HTMLElement>('main.list');
        return main && main.dataset.listQuery === q && main.dataset.state !== 'loading' ? main.dataset.state : null;
      },
      q,
      { timeout: 10_000 },
    );
    return (await handle.jsonValue()) as string;
  }

  /** Elements whose content is wider than their box (cut off or scrolling sideways). */
  const overflowing = (page: Page) =>
    page.evaluate(() => {
      const selectors = ['html', 'body', '.popup', 'header.bar', '.tools', '.controls-area', '.filters', '.chip-row', '.search', 'main.list', '.events', '.event', '.event-line', '.notice', '.query-error'];
      const out: string[] = [];
      for (const selector of selectors) {
        document.querySelectorAll<HTMLElement>(selector).forEach((el, i) => {
          if (el.scrollWidth > el.clientWidth) out.push(`${selector}[${i}] ${el.scrollWidth} > ${el.clientWidth}`);
        });
      }
      // Nothing sticks out past the window's right edge either.
      const right = document.documentElement.clientWidth;
      document.querySelectorAll<HTMLElement>('header.bar *, .controls-area *, .notice *, .event *').forEach((el) => {
        const box = el.getBoundingClientRect();
        if (box.width && box.right > right + 0.5 && !el.closest('.sr-only')) out.push(`${el.tagName}.${el.className} ends at ${box.right} > ${right}`);
      });
      return out;
    });

  const activeInfo = (page: Page) =>
    page.evaluate(() => {
      const el = document.activeElement as HTMLElement | null;
      return { id: el?.dataset.id ?? null, chip: el?.dataset.chip ?? null, tag: el?.tagName ?? '', elementId: el?.id ?? '' };
    });

  it('the popup fits 360, 420 and 800 px: header, filters, rows and state messages', async () => {
    for (const width of [360, 420, 800]) {
      await signedIn({ lastQuery: '' });
      const page = await fixture.browser.open('popup.html', { width, height: 600 });
      await settled(page, '');
      expect(await page.evaluate(() => document.body.getBoundingClientRect().width), `body at ${width}`).toBeLessThanOrEqual(width);
      expect(await overflowing(page), `rows at ${width}`).toEqual([]);
      // A state message and a query error, at the same width.
      await page.fill('#q', 'action:explode');
      await page.press('#q', 'Enter');
      await settled(page, 'action:explode');
      await page.waitForSelector('.notice[data-state="queryError"]');
      expect(await overflowing(page), `query error at ${width}`).toEqual([]);
      await page.close();
    }
    await fixture.browser.setStorage({});
    const page = await fixture.browser.open('popup.html', { width: 360, height: 600 });
    await page.waitForSelector('.notice[data-state="notConfigured"]');
    expect(await overflowing(page), 'not configured at 360').toEqual([]);
    await page.close();
  });

  it('keyboard: the first event within 5 Tab presses, chips and rows one stop each, Enter opens the detail', async () => {
    await signedIn({ lastQuery: '' });
    const page = await fixture.browser.open('popup.html', { width: 420, height: 600 });
    await settled(page, '');
    const expected = await fixture.server.client.events.list.query({ limit: 50 });
    let presses = 0;
    while ((await activeInfo(page)).id !== expected.items[0]!.id && presses < 5) {
      await page.keyboard.press('Tab');
      presses++;
    }
    expect((await activeInfo(page)).id, `after ${presses} Tab presses`).toBe(expected.items[0]!.id);

    // Rows: arrow keys move, every row takes focus (with or without a diff).
    const hasDiff = (e: (typeof expected.items)[number]) => e.diff !== null && Object.keys(e.diff).length > 0;
    const withDiff = expected.items.findIndex(hasDiff);
    const withoutDiff = expected.items.findIndex((e, i) => i > withDiff && !hasDiff(e));
    expect(withDiff).toBeGreaterThanOrEqual(0);
    expect(withoutDiff).toBeGreaterThan(withDiff);
    for (let i = 0; i < withoutDiff; i++) {
      await page.keyboard.press('ArrowDown');
      expect((await activeInfo(page)).id).toBe(expected.items[i + 1]!.id);
    }
    expect(await page.$$eval('.events > li[tabindex="0"]', (els) => els.length)).toBe(1);
    await page.keyboard.press('Home');
    expect((await activeInfo(page)).id).toBe(expected.items[0]!.id);

    // Back to the chips with Shift+Tab: one stop for all of them, arrows inside.
    await page.focus('#q');
    await page.keyboard.press('Tab');
    expect((await activeInfo(page)).chip).toBe('group:sensitive');
    expect(await page.$$eval('[role=toolbar] .chip[tabindex="0"]', (els) => els.length)).toBe(1);
    await page.keyboard.press('ArrowRight');
    expect((await activeInfo(page)).chip).toBe('action:cordon');
    await page.keyboard.press('ArrowDown');
    expect((await activeInfo(page)).chip).toBe('group:access');
    await page.keyboard.press('ArrowLeft');
    expect((await activeInfo(page)).chip).toBe('action:auto_off');
    await page.keyboard.press('End');
    expect((await activeInfo(page)).chip).toBe('since:7d');
    await page.keyboard.press('Enter');
    await settled(page, 'since:7d');
    // The chip keeps the Tab stop: leaving and coming back lands on it.
    await page.keyboard.press('Shift+Tab');
    await page.keyboard.press('Tab');
    expect((await activeInfo(page)).chip).toBe('since:7d');
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('SUMMARY');

    // Enter on a row opens its event in the full view's detail pane.
    const first = (await fixture.server.client.events.list.query({ q: 'since:7d', limit: 1 })).items[0]!;
    await page.focus(`.events > li[data-id="${first.id}"]`);
    const [view] = await Promise.all([fixture.browser.context.waitForEvent('page'), page.keyboard.press('Enter').catch(() => {})]); // the popup closes itself
    await view.waitForSelector(`[data-detail-id="${first.id}"]`, { timeout: 10_000 });
    await view.close();
    if (!page.isClosed()) await page.close();
  });

  it('search: a term being typed raises no error; a wrong query clears the list, count and chips', async () => {
    await signedIn({ lastQuery: 'action:delete' });
    const page = await fixture.browser.open('popup.html', { width: 420, height: 600 });
    await settled(page, 'action:delete');
    expect(await page.getAttribute('[data-chip="action:delete"]', 'aria-pressed')).toBe('true');
    await expect.poll(() => page.textContent('[data-count]')).not.toBe(''); // the count follows the rows

    // Still typing a value completion can finish: no message, the list still the last query's.
    await page.fill('#q', '');
    await page.type('#q', 'action:co');
    await page.waitForSelector('#q-suggestions [role=option]');
    await page.waitForTimeout(800); // longer than the box's pause before it applies or reports
    expect(await page.$('[data-query-error]')).toBeNull();
    expect(await page.getAttribute('#q', 'aria-invalid')).toBeNull();
    expect(await page.getAttribute('main.list', 'data-list-query')).toBe('action:delete');
    for (const partial of ['since:3', 'date_from:2026-1', 'username:"al']) {
      await page.fill('#q', partial);
      await page.waitForTimeout(800);
      expect(await page.$('[data-query-error]'), partial).toBeNull();
    }

    // Enter on the unfinished term: the message, and nothing of the previous query.
    await page.fill('#q', 'action:co');
    await page.press('#q', 'Escape');
    await page.press('#q', 'Enter');
    await settled(page, 'action:co');
    const parsed = parseAuditQuery('action:co');
    if (parsed.ok) throw new Error('action:co should not parse');
    expect(await page.textContent('[data-query-error]')).toBe(formatQueryError(parsed.error));
    expect(await page.$$('.events > li')).toHaveLength(0);
    expect(await page.textContent('[data-count]')).toBe('');
    expect(await page.$$eval('[data-chip][aria-pressed="true"]', (els) => els.length)).toBe(0);

    // A value nothing valid starts with is reported after the pause, without Enter.
    await signedIn({ lastQuery: 'action:delete since:7d' });
    await page.reload();
    await settled(page, 'action:delete since:7d');
    await page.fill('#q', 'action:delete since:7d colour:red');
    await settled(page, 'action:delete since:7d colour:red');
    await page.waitForSelector('[data-query-error]');
    expect(await page.$$('.events > li')).toHaveLength(0);
    expect(await page.textContent('[data-count]')).toBe('');
    expect(await page.$$eval('[data-chip][aria-pressed="true"]', (els) => els.length)).toBe(0);
    await page.close();
  });

  it('the full view shows local time with its zone beside the relative time, UTC on hover and by a remembered toggle', async () => {
    await signedIn({ lastQuery: '' });
    const view = await fixture.browser.context.newPage();
    const cdp = await fixture.browser.context.newCDPSession(view);
    await cdp.send('Emulation.setTimezoneOverride', { timezoneId: 'Asia/Kolkata' });
    await view.goto(fixture.browser.url('view.html'));
    await settled(view, '');
    const first = (await fixture.server.client.events.list.query({ limit: 1 })).items[0]!;
    const cell = view.locator(`tr[data-id="${first.id}"] td.when`);
    const kolkata = new Date(Date.parse(first.time) + 5.5 * 3_600_000).toISOString();
    const utc = `${first.time.slice(0, 10)} ${first.time.slice(11, 19)} UTC`;
    expect(await cell.locator('[data-absolute]').textContent()).toBe(`${kolkata.slice(0, 10)} ${kolkata.slice(11, 19)} GMT+5:30`);
    expect(await cell.locator('[data-absolute]').getAttribute('title')).toBe(utc);
    expect(await cell.locator('.relative').textContent()).toMatch(/just now|s ago|m ago/);

    await view.click('[data-utc-toggle]');
    await expect.poll(() => cell.locator('[data-absolute]').textContent()).toBe(utc);
    expect((await fixture.browser.getStorage()).timesInUtc).toBe(true);
    await view.reload();
    await settled(view, '');
    expect(await view.locator(`tr[data-id="${first.id}"] td.when [data-absolute]`).textContent()).toBe(utc);
    expect(await view.getAttribute('[data-utc-toggle]', 'aria-pressed')).toBe('true');
    await view.close();
  });

  it('axe-core finds no serious or critical violation on the popup, the full view and options', async () => {
    await signedIn({ lastQuery: 'action:delete' });
    const found: string[] = [];
    const check = async (page: Page, label: string) => {
      for (const line of describeFindings(await axeFindings(page))) found.push(`${label}: ${line}`);
    };
    for (const scheme of ['light', 'dark'] as const) {
      const popup = await fixture.browser.open('popup.html', { width: 420, height: 600 });
      await popup.emulateMedia({ colorScheme: scheme });
      await settled(popup, 'action:delete');
      await popup.click('.diff-toggle');
      await check(popup, `popup (${scheme})`);
      await popup.fill('#q', 'action:explode');
      await popup.press('#q', 'Enter');
      await settled(popup, 'action:explode');
      await check(popup, `popup with a query error (${scheme})`);
      await popup.close();

      const view = await fixture.browser.open('view.html', { width: 1280, height: 800 });
      await view.emulateMedia({ colorScheme: scheme });
      await settled(view, 'action:explode');
      await view.fill('#q', 'action:delete');
      await view.press('#q', 'Enter');
      await settled(view, 'action:delete');
      await view.click('tbody tr');
      await view.waitForSelector('[data-detail-id]');
      await view.waitForSelector('.timeline-chart');
      await check(view, `full view (${scheme})`);
      await view.close();

      const options = await fixture.browser.open('options.html', { width: 900, height: 760 });
      await options.emulateMedia({ colorScheme: scheme });
      await options.waitForSelector('[data-status="ready"]', { timeout: 15_000 });
      await check(options, `options (${scheme})`);
      await options.close();
      await signedIn({ lastQuery: 'action:delete' });
    }
    expect(found).toEqual([]);

    // The check sees what it should: a control without a name is reported.
    const popup = await fixture.browser.open('popup.html', { width: 420, height: 600 });
    await settled(popup, 'action:delete');
    await popup.evaluate(() => document.querySelector('.controls-area')!.append(Object.assign(document.createElement('input'), { type: 'text' })));
    await check(popup, 'popup with an unlabelled field');
    await popup.close();
    expect(found).toEqual([expect.stringMatching(/^popup with an unlabelled field: label \(critical\)/)]);
  });
});
