// The extension never evaluates strings as code: its pages run under a CSP without
// 'unsafe-eval', where an attempt (even a library's probe) is a reported violation.
import { describe, expect, it } from 'vitest';
import { chromiumAvailable } from '../support/browser.js';
import { useExtensionFixture } from '../support/extensionFixture.js';
import { seed } from './seed.js';

describe.skipIf(!chromiumAvailable)('no eval in the extension', () => {
  const fixture = useExtensionFixture({ prepare: (server) => seed(server.client, 20) });

  it('pages parse server answers and queries without a CSP eval violation', async () => {
    await fixture.signInAsAdmin();
    const { browser } = fixture;
    const violations: string[] = [];
    for (const name of ['popup.html', 'view.html', 'options.html']) {
      const page = await browser.context.newPage();
      page.on('console', (message) => {
        if (/unsafe-eval|evaluate a string as JavaScript|Content Security Policy/i.test(message.text())) violations.push(`${name}: ${message.text()}`);
      });
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (e) => console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`));
      });
      await page.goto(browser.url(name));
      if (name !== 'options.html') {
        await page.waitForSelector('main.list[data-state="ready"]', { timeout: 15_000 });
        await page.fill('#q', 'action:delete');
        await page.press('#q', 'Enter');
        await page.waitForSelector('main.list[data-list-query="action:delete"]:not([data-state="loading"])', { timeout: 15_000 });
      } else {
        await page.waitForSelector('[data-status="ready"]', { timeout: 15_000 });
      }
      await page.close();
    }
    expect(violations).toEqual([]);
  });
});
