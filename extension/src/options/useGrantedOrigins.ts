import { useEffect, useState } from 'preact/hooks';
import { browser } from '../platform.js';

/**
 * The origins the browser lets the extension reach, kept current, so a click handler can
 * decide synchronously whether to ask for access (permissions.request must run in the
 * click itself, before any await).
 */
export function useGrantedOrigins(): string[] {
  const [granted, setGranted] = useState<string[]>([]);
  useEffect(() => {
    const refresh = () => void browser.permissions.getAll().then((p) => setGranted(p.origins ?? []));
    refresh();
    browser.permissions.onAdded.addListener(refresh);
    browser.permissions.onRemoved.addListener(refresh);
    return () => {
      browser.permissions.onAdded.removeListener(refresh);
      browser.permissions.onRemoved.removeListener(refresh);
    };
  }, []);
  return granted;
}
