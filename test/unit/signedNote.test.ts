// Signed notes and checkpoints: Go's sumdb/note reference vector, round trips, and every
// kind of tampering refused with a clear error.
import { createHash, createPrivateKey, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fromBase64, toBase64 } from '../../shared/base64.js';
import {
  ed25519KeyId,
  formatCheckpoint,
  formatNote,
  formatVerifierKey,
  parseCheckpoint,
  parseNote,
  parseVerifierKey,
  signNote,
  verifyCheckpoint,
  verifyNote,
} from '../../shared/signedNote.js';

// golang.org/x/mod/sumdb/note's example key and note (note_test.go and the package docs).
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_SEED = 'AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz'; // 0x01 ‖ Ed25519 seed
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

/** An Ed25519 private key from its 32-byte seed (PKCS#8 with the fixed RFC 8410 prefix). */
function keyFromSeed(seed: Uint8Array): KeyObject {
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return createPrivateKey({ key: Buffer.concat([prefix, seed]), format: 'der', type: 'pkcs8' });
}

function rawPublicKey(privateKey: KeyObject): Uint8Array {
  const jwk = privateKey.export({ format: 'jwk' }) as { x: string };
  return new Uint8Array(Buffer.from(jwk.x, 'base64url'));
}

const signer = (privateKey: KeyObject) => (message: Uint8Array) => new Uint8Array(sign(null, message, privateKey));

describe('signed notes', () => {
  it("reproduces and verifies Go's reference note byte for byte", async () => {
    const privateKey = keyFromSeed(fromBase64(GO_SEED)!.slice(1));
    const publicKey = rawPublicKey(privateKey);
    expect(formatVerifierKey('PeterNeumann', publicKey)).toBe(GO_VKEY);
    expect(ed25519KeyId('PeterNeumann', publicKey).toString(16)).toBe('c74f20a3');
    expect(await signNote(GO_TEXT, { name: 'PeterNeumann', publicKey }, signer(privateKey))).toBe(GO_NOTE);
    const note = await verifyNote(GO_NOTE, GO_VKEY);
    expect(note.text).toBe(GO_TEXT);
    expect(note.signatures).toHaveLength(1);
  });

  it('computes the key id as the spec says', () => {
    const { publicKey } = parseVerifierKey(GO_VKEY);
    const digest = createHash('sha256').update('PeterNeumann\n').update(Buffer.from([1])).update(publicKey).digest();
    expect(ed25519KeyId('PeterNeumann', publicKey)).toBe(digest.readUInt32BE(0));
  });

  it('round-trips a checkpoint, and refuses every tampered part', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const publicKey = rawPublicKey(privateKey);
    const name = 'vigil.example.com/audit';
    const vkey = formatVerifierKey(name, publicKey);
    const root = createHash('sha256').update('root').digest();
    const body = formatCheckpoint({ origin: name, treeSize: 1234, rootHash: root, extensions: [] });
    expect(body).toBe(`${name}\n1234\n${root.toString('base64')}\n`);
    const note = await signNote(body, { name, publicKey }, signer(privateKey));
    const checkpoint = await verifyCheckpoint(note, vkey, name);
    expect(checkpoint).toEqual({ origin: name, treeSize: 1234, rootHash: new Uint8Array(root), extensions: [] });
    expect(parseCheckpoint(body)).toEqual(checkpoint);

    const otherRoot = createHash('sha256').update('other').digest('base64');
    const signatureLine = note.slice(body.length + 1);
    const blob = fromBase64(signatureLine.split(' ').at(-1)!.trim())!;
    blob[10]! ^= 1;
    const tampered = {
      size: note.replace('\n1234\n', '\n1235\n'),
      root: note.replace(root.toString('base64'), otherRoot),
      origin: note.replace(`${name}\n1234`, `evil.example.com\n1234`),
      signature: `${body}\n— ${name} ${toBase64(blob)}\n`,
    };
    for (const [what, text] of Object.entries(tampered)) {
      await expect(verifyNote(text, vkey), what).rejects.toThrow(/does not verify|not signed by/);
    }
    await expect(verifyNote(tampered.size, vkey)).rejects.toThrow(`the signature by ${name} does not verify: the note was changed or signed by another key`);

    // Signed by another key under the same name: not this key's signature.
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = await signNote(body, { name, publicKey: rawPublicKey(other) }, signer(other));
    await expect(verifyNote(forged, vkey)).rejects.toThrow(`the note is not signed by ${vkey.split('+').slice(0, 2).join('+')}`);
    // This key's id on the other key's signature: the signature fails.
    const otherSignature = parseNote(forged).signatures[0]!.signature;
    const swapped = formatNote({ text: body, signatures: [{ name, keyId: ed25519KeyId(name, publicKey), signature: otherSignature }] });
    await expect(verifyNote(swapped, vkey)).rejects.toThrow('does not verify');
    await expect(verifyCheckpoint(note, vkey, 'another.origin')).rejects.toThrow('the checkpoint is for the log "vigil.example.com/audit", not "another.origin"');
    // Cosignatures by other keys are ignored.
    const cosigned = note + forged.slice(body.length + 1);
    expect((await verifyNote(cosigned, vkey)).signatures).toHaveLength(2);
  });

  it('refuses malformed notes, keys and checkpoints with a clear error', () => {
    expect(() => parseNote('no newline')).toThrow('malformed note: it must end with a newline');
    expect(() => parseNote('text\n')).toThrow('malformed note: no blank line before the signatures');
    expect(() => parseNote('text\n\n- name AAAAAAA=\n')).toThrow('malformed note: signature line 1 does not start with "— "');
    expect(() => parseNote('text\n\n— name !!!\n')).toThrow('malformed note: signature line 1 carries no base64 key id and signature');
    expect(() => parseNote('te\u0001xt\n\n— name AAAAAAA=\n')).toThrow('control characters');
    expect(() => parseVerifierKey('PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toThrow(
      'verifier key: the key id c74f20a4 does not match the key (c74f20a3)',
    );
    expect(() => parseVerifierKey('PeterNeumann+c74f20a3+AhpcXQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW')).toThrow('0x01 followed by a 32-byte');
    expect(() => parseVerifierKey('nonsense')).toThrow('a verifier key reads <name>+<8 hex key id>+<base64 key>');
    expect(() => parseCheckpoint('origin\n01\nAAAA\n')).toThrow('tree size "01" is not a decimal number');
    expect(() => parseCheckpoint('origin\n1\nAAAA\n')).toThrow('the root hash is not base64 of 32 bytes');
    expect(() => parseCheckpoint('origin\n1\n')).toThrow('malformed checkpoint');
  });
});
