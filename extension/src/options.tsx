// Options: one section after another (options/sections.ts lists them): the server's
// address, the account, the rules for desktop notifications, the connection's status.
// An organization's policy (storage.managed) may set and lock the address and the rules.
import './jitless.js';
import { render } from 'preact';
import { OPTION_SECTIONS } from './options/sections.js';
import { loadSettings, type Settings } from './settings.js';
import { useSettings } from './ui/hooks.js';
import './style.css';

function Options({ initial }: { initial: Settings }) {
  const settings = useSettings(initial);
  return (
    <main class="options">
      <h1 class="brand">Vigil options</h1>
      {OPTION_SECTIONS.map(({ key, Section }) => (
        <Section key={key} settings={settings} initial={initial} />
      ))}
    </main>
  );
}

void loadSettings().then((settings) => render(<Options initial={settings} />, document.getElementById('app')!));
