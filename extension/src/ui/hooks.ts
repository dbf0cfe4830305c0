import { useEffect, useState } from 'preact/hooks';
import { loadSettings, onSettingsChanged, type Settings } from '../settings.js';

/** The current time, refreshed every `everyMs` so relative times stay true. */
export function useNow(everyMs = 30_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}

/** Settings, starting from those read before the first render and following later changes. */
export function useSettings(initial: Settings): Settings {
  const [settings, setSettings] = useState(initial);
  useEffect(() => onSettingsChanged(setSettings), []);
  return settings;
}

export { loadSettings };
