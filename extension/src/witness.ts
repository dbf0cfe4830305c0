// The extension as a witness of the server's history. It pins the server's note
// verifier key on first use, keeps the newest tree head it verified, and on every sync
// checks the server's latest signed head against it: the signature (with the pinned key),
// and an RFC 9162 consistency proof from the held head. A changed key, a bad signature, a
// smaller tree, a different root at the same size or a failed proof is an alarm that stays
// until the user acknowledges it, with the evidence kept for export. Events it notifies
// about and the one open in the detail pane are checked for inclusion in a verified head.
// Pure: the server calls come in through `TreeApi`, so tests run it in Node.
import { REFUSAL_REASONS } from '../../shared/refusalReasons.js';
import { canonicalEvent, canonicalFieldsOf, type ListedEventFields } from '../../shared/canonical.js';
import { fromBase64 } from '../../shared/base64.js';
import { hashesEqual, leafHash, verifyConsistency, verifyInclusion } from '../../shared/merkle.js';
import { verifyCheckpoint } from '../../shared/signedNote.js';

/** A signed tree head as integrity.treeHead answers it. */
export interface TreeHead {
  treeSize: number;
  /** base64 */
  rootHash: string;
  note: string;
  verifierKey: string;
}

export interface TreeApi {
  treeHead(): Promise<TreeHead>;
  consistencyProof(from: number, to: number): Promise<{ proof: string[] }>;
  inclusionProof(id: string, treeSize: number): Promise<{ leafIndex: number; leafHash: string; proof: string[] }>;
}

export type AlarmReason = 'keyChanged' | 'badSignature' | 'smallerTree' | 'splitView' | 'inconsistent' | 'notIncluded';

/** What the witness saw when history did not add up, kept for export from the options page. */
export interface HistoryAlarm {
  reason: AlarmReason;
  /** In the user's words. */
  message: string;
  at: string;
  held?: TreeHead;
  received?: TreeHead;
  proof?: string[];
  eventId?: string;
}

export interface WitnessState {
  /** The verifier key pinned on first use. */
  pinnedKey?: string;
  /** The newest head verified. */
  head?: TreeHead;
  /** An unacknowledged alarm: no further head is trusted until the user acknowledges it. */
  alarm?: HistoryAlarm;
}

export const ALARM_TEXT: Record<AlarmReason, string> = {
  keyChanged: 'The server signs its history with a different key than the one this browser pinned.',
  badSignature: "The server's tree head is not signed by the key this browser pinned.",
  smallerTree: 'The server now shows a shorter history than this browser already verified: events were removed or the database was rolled back.',
  splitView: 'The server shows a different history of the same length than this browser already verified.',
  inconsistent: "The server's new history does not extend the history this browser already verified: past events were changed or removed.",
  notIncluded: 'An event the server showed is not in its verified history.',
};

export type WitnessOutcome =
  | { kind: 'verified'; state: WitnessState; head: TreeHead; grew: boolean }
  | { kind: 'alarm'; state: WitnessState; alarm: HistoryAlarm }
  /** An alarm is already standing: nothing more is trusted until it is acknowledged. */
  | { kind: 'held'; state: WitnessState };

function raise(state: WitnessState, alarm: Omit<HistoryAlarm, 'message' | 'at'>, now: Date): WitnessOutcome {
  const full: HistoryAlarm = { ...alarm, message: ALARM_TEXT[alarm.reason], at: now.toISOString() };
  return { kind: 'alarm', state: { ...state, alarm: full }, alarm: full };
}

const bytes = (b64: string): Uint8Array => {
  const decoded = fromBase64(b64);
  if (!decoded) throw new Error('not base64');
  return decoded;
};

/** One witness step: fetch the latest head and check it against what is held. */
export async function witnessHead(state: WitnessState, api: TreeApi, now: Date): Promise<WitnessOutcome> {
  if (state.alarm) return { kind: 'held', state };
  const received = await api.treeHead();
  const pinnedKey = state.pinnedKey ?? received.verifierKey;
  const held = state.head;
  if (received.verifierKey !== pinnedKey) return raise(state, { reason: 'keyChanged', ...(held ? { held } : {}), received }, now);
  let checkpoint;
  try {
    checkpoint = await verifyCheckpoint(received.note, pinnedKey);
  } catch {
    return raise(state, { reason: 'badSignature', ...(held ? { held } : {}), received }, now);
  }
  // The answer's fields must say what the signed note says.
  if (checkpoint.treeSize !== received.treeSize || !hashesEqual(checkpoint.rootHash, bytes(received.rootHash))) {
    return raise(state, { reason: 'badSignature', ...(held ? { held } : {}), received }, now);
  }
  const next: WitnessState = { ...state, pinnedKey, head: received };
  if (!held) return { kind: 'verified', state: next, head: received, grew: true };
  if (received.treeSize < held.treeSize) return raise(state, { reason: 'smallerTree', held, received }, now);
  if (received.treeSize === held.treeSize) {
    if (received.rootHash !== held.rootHash) return raise(state, { reason: 'splitView', held, received }, now);
    return { kind: 'verified', state: next, head: received, grew: false };
  }
  const { proof } = held.treeSize === 0 ? { proof: [] } : await api.consistencyProof(held.treeSize, received.treeSize);
  const consistent =
    held.treeSize === 0 || verifyConsistency(held.treeSize, received.treeSize, bytes(held.rootHash), bytes(received.rootHash), proof.map(bytes));
  if (!consistent) return raise(state, { reason: 'inconsistent', held, received, proof }, now);
  return { kind: 'verified', state: next, head: received, grew: true };
}

/** The leaf hash of an event as the server lists it (RFC 9162: SHA-256(0x00 ‖ canonical form)). */
export function eventLeafHash(event: ListedEventFields): Uint8Array {
  return leafHash(new TextEncoder().encode(canonicalEvent(canonicalFieldsOf(event))));
}

export type InclusionOutcome =
  | { kind: 'included'; leafIndex: number }
  | { kind: 'pending' }
  /** Retention removed the event since it was listed: its leaf stays in the tree; nothing to prove or to alarm about. */
  | { kind: 'removed' }
  | { kind: 'notIncluded'; proof?: string[] };

/**
 * Whether `event`, exactly as shown, is in the verified `head`. An event newer than the
 * head is `pending` (the tree integrates new events within a second; the next head has it).
 */
export async function checkInclusion(event: ListedEventFields & { id: string; seq: number }, head: TreeHead, api: TreeApi): Promise<InclusionOutcome> {
  let answer;
  try {
    answer = await api.inclusionProof(event.id, head.treeSize);
  } catch (error) {
    const data = (error as { data?: { code?: string; reason?: string } }).data;
    if (data?.reason === REFUSAL_REASONS.removedByRetention) return { kind: 'removed' };
    // Not yet in this head's tree: BAD_REQUEST (a later leaf) or NOT_FOUND (not integrated yet).
    if (data?.code === 'BAD_REQUEST' || data?.code === 'NOT_FOUND') return { kind: 'pending' };
    throw error;
  }
  const leaf = eventLeafHash(event);
  const ok =
    hashesEqual(leaf, bytes(answer.leafHash)) &&
    verifyInclusion(answer.leafIndex, head.treeSize, leaf, answer.proof.map(bytes), bytes(head.rootHash));
  return ok ? { kind: 'included', leafIndex: answer.leafIndex } : { kind: 'notIncluded', proof: answer.proof };
}

/** An inclusion failure as an alarm. */
export function inclusionAlarm(state: WitnessState, eventId: string, proof: string[] | undefined, now: Date): WitnessOutcome {
  return raise(state, { reason: 'notIncluded', eventId, ...(state.head ? { held: state.head } : {}), ...(proof ? { proof } : {}) }, now);
}

/** The pinned key's fingerprint as options show it: the key name and its 8-hex key id. */
export function keyFingerprint(verifierKey: string): string {
  const [name, id] = verifierKey.split('+');
  return `${name ?? '?'} ${id ?? '?'}`;
}
