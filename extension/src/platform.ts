// The WebExtension API for Chrome and Firefox alike (promises, `browser.*`).
import browser from 'webextension-polyfill';

export { browser };

/** Firefox extension pages live on moz-extension://; Chrome's on chrome-extension://. */
export const isFirefox = (): boolean => browser.runtime.getURL('').startsWith('moz-extension:');
