// The options page's sections, in the order they show. A new section is a component in
// this folder taking SectionProps (it returns null while it does not apply, e.g. before
// a server is set) and one row here.
import type { FunctionComponent } from 'preact';
import type { Settings } from '../settings.js';
import { AccountSection } from './AccountSection.js';
import { NotificationsSection } from './NotificationsSection.js';
import { ServerSection } from './ServerSection.js';
import { StatusSection } from './StatusSection.js';
import { StreamingSection } from './StreamingSection.js';
import { WitnessSection } from './WitnessSection.js';

export interface SectionProps {
  /** The settings now (they follow changes made by other pages). */
  settings: Settings;
  /** The settings when the page opened (a form's first values). */
  initial: Settings;
}

export const OPTION_SECTIONS: readonly { key: string; Section: FunctionComponent<SectionProps> }[] = [
  { key: 'server', Section: ServerSection },
  { key: 'account', Section: AccountSection },
  { key: 'history', Section: WitnessSection },
  { key: 'notifications', Section: NotificationsSection },
  { key: 'status', Section: StatusSection },
  { key: 'streaming', Section: StreamingSection },
];
