// Standard base64 (RFC 4648 section 4, padded) for bytes, in Node and the browser alike:
// the encoding signed notes, checkpoints and proofs use.

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** Decodes padded standard base64; null for anything else (no whitespace, no URL alphabet). */
export function fromBase64(text: string): Uint8Array | null {
  if (!STRICT_BASE64.test(text)) return null;
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
