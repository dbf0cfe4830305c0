// The witness in the background (the checks are extension/src/witness.ts): after each
// successful sync, the server's latest signed tree head is checked against the one held
// for that server in storage.local. A verified head that grew is reported to the server
// (integrity.witness, recorded as an audit event by this auditor) at most every
// REPORT_EVERY_MS: each report is itself an event, so reporting every growth would feed
// itself. An alarm raises one desktop notification and stays until acknowledged.
import { settingsClient } from './api.js';
import { showNotification } from './notify.js';
import { browser } from './platform.js';
import type { Settings } from './settings.js';
import { rulesQuery } from './rules.js';
import { checkInclusion, inclusionAlarm, witnessHead, type HistoryAlarm, type TreeApi, type TreeHead, type WitnessState } from './witness.js';

export const HISTORY_NOTIFICATION_ID = 'vigil-history-changed';
const REPORT_EVERY_MS = 10 * 60_000;

/** What storage.local holds under `witness`: one server's witness state. */
export interface StoredWitness {
  serverUrl: string;
  state: WitnessState;
  lastReportedAt?: number;
  /** Events matching the notification rules up to this seq were proven included in a verified head. */
  checkedSeq?: number;
}

/** At most this many notified events are proven per sync (the rest wait for the next). */
const INCLUSION_CHECKS_PER_SYNC = 50;

export async function loadWitness(): Promise<StoredWitness | undefined> {
  return ((await browser.storage.local.get('witness')) as { witness?: StoredWitness }).witness;
}

/** The integrity procedures the witness needs, on the configured server. */
export function treeApiOf(settings: Settings): TreeApi {
  const client = settingsClient(settings);
  return {
    treeHead: () => client.integrity.treeHead.query(),
    consistencyProof: (from, to) => client.integrity.consistencyProof.query({ from, to }),
    inclusionProof: (id, treeSize) => client.integrity.inclusionProof.query({ id, treeSize }),
  };
}

/** One witness step for the configured server; answers the standing alarm, if any. */
export async function witnessStep(settings: Settings): Promise<HistoryAlarm | undefined> {
  if (!settings.serverUrl || !settings.token) return undefined;
  const stored = await loadWitness();
  // Another server: its key is pinned afresh (trust on first use).
  const current: StoredWitness = stored?.serverUrl === settings.serverUrl ? stored : { serverUrl: settings.serverUrl, state: {} };
  if (current.state.alarm) return current.state.alarm;
  const outcome = await witnessHead(current.state, treeApiOf(settings), new Date());
  const next: StoredWitness = { ...current, state: outcome.state };
  if (outcome.kind === 'alarm') {
    await browser.storage.local.set({ witness: next });
    await showNotification({ id: HISTORY_NOTIFICATION_ID, title: 'History changed', message: outcome.alarm.message }).catch(() => {});
    return outcome.alarm;
  }
  if (outcome.kind === 'verified' && outcome.grew && Date.now() - (current.lastReportedAt ?? 0) >= REPORT_EVERY_MS) {
    try {
      await settingsClient(settings).integrity.witness.mutate({ note: outcome.head.note });
      next.lastReportedAt = Date.now();
    } catch (error) {
      // Service tokens may not report; the head is still held.
      console.warn('vigil: witness report', error);
    }
  }
  if (outcome.kind === 'verified') {
    const alarm = await proveNotifiedEvents(settings, next, outcome.head);
    if (alarm) return alarm;
  }
  await browser.storage.local.set({ witness: next });
  return undefined;
}

/**
 * Every event the rules notify about is proven included in a verified head: those after
 * `checkedSeq`, oldest first, until one is newer than the head (it waits for the next).
 * The first sync after login starts at the head of the log, as notifications do.
 */
async function proveNotifiedEvents(settings: Settings, witness: StoredWitness, head: TreeHead): Promise<HistoryAlarm | undefined> {
  const q = rulesQuery(settings.notifyRules);
  const client = settingsClient(settings);
  if (witness.checkedSeq === undefined || q === null) {
    witness.checkedSeq = (await client.events.since.query({})).nextSeq;
    return undefined;
  }
  const page = await client.events.since.query({ q, afterSeq: witness.checkedSeq, limit: INCLUSION_CHECKS_PER_SYNC });
  for (const event of page.items) {
    const outcome = await checkInclusion(event, head, treeApiOf(settings));
    if (outcome.kind === 'pending') return undefined;
    // A removed event (retention) has nothing left to prove: it counts as checked.
    if (outcome.kind === 'notIncluded') {
      const alarmed = inclusionAlarm(witness.state, event.id, outcome.proof, new Date());
      await browser.storage.local.set({ witness: { ...witness, state: alarmed.state } satisfies StoredWitness });
      if (alarmed.kind === 'alarm') {
        await showNotification({ id: HISTORY_NOTIFICATION_ID, title: 'History changed', message: alarmed.alarm.message }).catch(() => {});
        return alarmed.alarm;
      }
      return undefined;
    }
    witness.checkedSeq = event.seq;
  }
  // Every matching event up to the page's end was proven.
  if (!page.more) witness.checkedSeq = Math.max(witness.checkedSeq, page.nextSeq);
  return undefined;
}

/**
 * The user acknowledges the alarm: the server's present view (and, for a new key, that
 * key) becomes what is held, and is reported to the server, so the log records who
 * accepted it.
 */
export async function acknowledgeHistoryAlarm(settings: Settings): Promise<void> {
  const stored = await loadWitness();
  if (!stored?.state.alarm) return;
  const received = stored.state.alarm.received;
  const state: WitnessState = received ? { pinnedKey: received.verifierKey, head: received } : { ...stored.state, alarm: undefined };
  delete state.alarm;
  await browser.storage.local.set({ witness: { serverUrl: stored.serverUrl, state, lastReportedAt: Date.now() } satisfies StoredWitness });
  await browser.notifications.clear(HISTORY_NOTIFICATION_ID).catch(() => false);
  if (received) await settingsClient(settings).integrity.witness.mutate({ note: received.note }).catch((e: unknown) => console.warn('vigil: witness report', e));
}

/** An event shown by the server failed its inclusion proof: the same alarm as a bad head. */
export async function raiseInclusionAlarm(settings: Settings, eventId: string, proof: string[] | undefined): Promise<void> {
  const stored = await loadWitness();
  if (!stored || stored.serverUrl !== settings.serverUrl || stored.state.alarm) return;
  const outcome = inclusionAlarm(stored.state, eventId, proof, new Date());
  await browser.storage.local.set({ witness: { ...stored, state: outcome.state } satisfies StoredWitness });
  if (outcome.kind === 'alarm') {
    await showNotification({ id: HISTORY_NOTIFICATION_ID, title: 'History changed', message: outcome.alarm.message }).catch(() => {});
  }
}
