// Signed notes (C2SP signed-note) and the tree heads they carry (C2SP tlog-checkpoint),
// as Go's golang.org/x/mod/sumdb/note and transparency-log witnesses read them:
//
//   <origin>\n<tree size>\n<base64 root hash>\n      the checkpoint: the note's text
//   \n                                               a blank line
//   — <key name> <base64(key id ‖ Ed25519 signature of the text)>\n
//
// key id = SHA-256(key name ‖ "\n" ‖ 0x01 ‖ 32-byte public key)[:4], and the verifier key
// `<name>+<key id, 8 hex>+<base64(0x01 ‖ public key)>` is what a witness pins. Verification
// uses WebCrypto's Ed25519 (globalThis.crypto.subtle: Node 20+, Chrome 137+, Firefox 129+).
import { fromBase64, toBase64 } from './base64.js';
import { sha256 } from './sha256.js';

/** The signature type byte of Ed25519 keys in signed notes. */
const ED25519 = 0x01;
const SIGNATURE_PREFIX = '\u2014 ';
/** Go's reader refuses more; so does this one. */
const MAX_SIGNATURES = 100;

/** A note that cannot be read or does not verify; the message says why. */
export class NoteError extends Error {
  override name = 'NoteError';
}

export interface NoteSignature {
  name: string;
  /** The 4-byte key id as an unsigned 32-bit number. */
  keyId: number;
  /** The signature without its key id. */
  signature: Uint8Array;
}

export interface Note {
  /** The signed text, ending in a newline. */
  text: string;
  signatures: NoteSignature[];
}

export interface VerifierKey {
  name: string;
  keyId: number;
  /** The raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
}

const utf8 = new TextEncoder();
const hex8 = (n: number) => n.toString(16).padStart(8, '0');

/** Key names: non-empty, no whitespace, no "+". */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+]/u.test(name);
}

function isValidText(text: string): boolean {
  // Newline-terminated, and no control characters but the newline.
  return text.endsWith('\n') && !/[\u0000-\u0009\u000b-\u001f\u007f]/.test(text);
}

/** The 4-byte id of an Ed25519 key, as an unsigned 32-bit number. */
export function ed25519KeyId(name: string, publicKey: Uint8Array): number {
  const digest = sha256(utf8.encode(`${name}\n`), new Uint8Array([ED25519]), publicKey);
  return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
}

export function formatVerifierKey(name: string, publicKey: Uint8Array): string {
  if (!isValidKeyName(name)) throw new NoteError(`invalid key name ${JSON.stringify(name)}: it must be non-empty, without spaces or "+"`);
  if (publicKey.length !== 32) throw new NoteError(`an Ed25519 public key has 32 bytes, got ${publicKey.length}`);
  return `${name}+${hex8(ed25519KeyId(name, publicKey))}+${toBase64(new Uint8Array([ED25519, ...publicKey]))}`;
}

export function parseVerifierKey(text: string): VerifierKey {
  const first = text.indexOf('+');
  const second = text.indexOf('+', first + 1);
  if (first < 0 || second < 0) throw new NoteError('a verifier key reads <name>+<8 hex key id>+<base64 key>');
  const name = text.slice(0, first);
  const idHex = text.slice(first + 1, second);
  const key = fromBase64(text.slice(second + 1));
  if (!isValidKeyName(name)) throw new NoteError(`verifier key: invalid key name ${JSON.stringify(name)}`);
  if (!/^[0-9a-f]{8}$/.test(idHex)) throw new NoteError('verifier key: the key id must be 8 lowercase hex digits');
  if (!key || key.length !== 33 || key[0] !== ED25519) {
    throw new NoteError('verifier key: the key must be base64 of 0x01 followed by a 32-byte Ed25519 public key');
  }
  const publicKey = key.slice(1);
  const keyId = ed25519KeyId(name, publicKey);
  if (hex8(keyId) !== idHex) throw new NoteError(`verifier key: the key id ${idHex} does not match the key (${hex8(keyId)})`);
  return { name, keyId, publicKey };
}

export function parseNote(message: string): Note {
  if (!message.endsWith('\n')) throw new NoteError('malformed note: it must end with a newline');
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw new NoteError('malformed note: no blank line before the signatures');
  const text = message.slice(0, split + 1);
  if (!isValidText(text)) throw new NoteError('malformed note: the text holds control characters');
  const lines = message.slice(split + 2, -1).split('\n');
  if (lines.length > MAX_SIGNATURES) throw new NoteError(`malformed note: more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map((line, i): NoteSignature => {
    const bad = (why: string) => new NoteError(`malformed note: signature line ${i + 1} ${why}`);
    if (!line.startsWith(SIGNATURE_PREFIX)) throw bad('does not start with "— "');
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw bad('has no space between the key name and the signature');
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) throw bad(`names an invalid key ${JSON.stringify(name)}`);
    const blob = fromBase64(rest.slice(space + 1));
    if (!blob || blob.length < 5) throw bad('carries no base64 key id and signature');
    const keyId = ((blob[0]! << 24) | (blob[1]! << 16) | (blob[2]! << 8) | blob[3]!) >>> 0;
    return { name, keyId, signature: blob.slice(4) };
  });
  return { text, signatures };
}

export function formatNote(note: Note): string {
  const lines = note.signatures.map((s) => {
    const blob = new Uint8Array(4 + s.signature.length);
    new DataView(blob.buffer).setUint32(0, s.keyId);
    blob.set(s.signature, 4);
    return `${SIGNATURE_PREFIX}${s.name} ${toBase64(blob)}\n`;
  });
  return `${note.text}\n${lines.join('')}`;
}

/** Signs `text` with an Ed25519 key named `name`; `sign` answers the raw 64-byte signature of its input. */
export async function signNote(
  text: string,
  key: { name: string; publicKey: Uint8Array },
  sign: (message: Uint8Array) => Uint8Array | Promise<Uint8Array>,
): Promise<string> {
  if (!isValidText(text)) throw new NoteError('a note text ends with a newline and holds no control characters');
  if (!isValidKeyName(key.name)) throw new NoteError(`invalid key name ${JSON.stringify(key.name)}`);
  const signature = await sign(utf8.encode(text));
  return formatNote({ text, signatures: [{ name: key.name, keyId: ed25519KeyId(key.name, key.publicKey), signature }] });
}

/**
 * Parses `message` and verifies its signature by `verifierKey`. Throws a NoteError saying
 * what is wrong: malformed, not signed by that key, or a signature that does not verify.
 * Signatures by other keys (witnesses' cosignatures) are ignored.
 */
export async function verifyNote(message: string, verifierKey: string | VerifierKey): Promise<Note> {
  const key = typeof verifierKey === 'string' ? parseVerifierKey(verifierKey) : verifierKey;
  const note = parseNote(message);
  const mine = note.signatures.filter((s) => s.name === key.name && s.keyId === key.keyId);
  if (mine.length === 0) throw new NoteError(`the note is not signed by ${key.name}+${hex8(key.keyId)}`);
  const cryptoKey = await crypto.subtle.importKey('raw', new Uint8Array(key.publicKey), { name: 'Ed25519' }, false, ['verify']);
  const data = utf8.encode(note.text);
  for (const s of mine) {
    const ok = await crypto.subtle.verify({ name: 'Ed25519' }, cryptoKey, new Uint8Array(s.signature), data);
    if (!ok) throw new NoteError(`the signature by ${key.name} does not verify: the note was changed or signed by another key`);
  }
  return note;
}

/** A tree head (C2SP tlog-checkpoint): the text of a signed note. */
export interface Checkpoint {
  /** Names the log, e.g. "vigil.example.com/audit". */
  origin: string;
  treeSize: number;
  rootHash: Uint8Array;
  /** Further lines, if any (none from Vigil). */
  extensions: string[];
}

export function formatCheckpoint(c: Checkpoint): string {
  if (c.origin === '' || /[\n]/.test(c.origin)) throw new NoteError('a checkpoint origin is one non-empty line');
  if (!Number.isSafeInteger(c.treeSize) || c.treeSize < 0) throw new NoteError(`invalid tree size ${c.treeSize}`);
  return `${c.origin}\n${c.treeSize}\n${toBase64(c.rootHash)}\n${c.extensions.map((e) => `${e}\n`).join('')}`;
}

export function parseCheckpoint(text: string): Checkpoint {
  const lines = text.split('\n');
  if (lines.length < 4 || lines.at(-1) !== '') throw new NoteError('malformed checkpoint: it needs an origin, a tree size and a root hash, one per line');
  const [origin, size, root, ...rest] = lines as [string, string, string, ...string[]];
  if (origin === '') throw new NoteError('malformed checkpoint: empty origin');
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    throw new NoteError(`malformed checkpoint: tree size ${JSON.stringify(size)} is not a decimal number`);
  }
  const rootHash = fromBase64(root);
  if (!rootHash || rootHash.length !== 32) throw new NoteError('malformed checkpoint: the root hash is not base64 of 32 bytes');
  return { origin, treeSize: Number(size), rootHash, extensions: rest.slice(0, -1) };
}

/** A signed tree head verified by `verifierKey`; with `origin`, also that it is that log's. */
export async function verifyCheckpoint(
  message: string,
  verifierKey: string | VerifierKey,
  origin?: string,
): Promise<Checkpoint> {
  const note = await verifyNote(message, verifierKey);
  const checkpoint = parseCheckpoint(note.text);
  if (origin !== undefined && checkpoint.origin !== origin) {
    throw new NoteError(`the checkpoint is for the log ${JSON.stringify(checkpoint.origin)}, not ${JSON.stringify(origin)}`);
  }
  return checkpoint;
}
