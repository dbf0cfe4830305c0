// Reads a CRX3 file the way Chrome checks one, independently of the packer: the header's
// RSA public key and signature, the signed crx_id, and the zip archive after the header.
import { createHash, createPublicKey, verify } from 'node:crypto';

export interface Crx3 {
  publicKeyDer: Buffer;
  /** The id Chrome derives from the public key. */
  extensionId: string;
  /** The crx_id the signed header data names, as an extension id. */
  signedId: string;
  /** Whether the RSA signature covers the signed header data and the archive. */
  signatureValid: boolean;
  archive: Buffer;
}

/** Protobuf fields of one message: field number to the length-delimited values. */
function fields(buf: Buffer): Map<number, Buffer[]> {
  const out = new Map<number, Buffer[]>();
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      const byte = buf[at++]!;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
  };
  while (at < buf.length) {
    const key = varint();
    const [field, wire] = [Math.floor(key / 8), key & 7];
    if (wire === 2) {
      const length = varint();
      out.set(field, [...(out.get(field) ?? []), buf.subarray(at, at + length)]);
      at += length;
    } else if (wire === 0) varint();
    else throw new Error(`unexpected protobuf wire type ${wire}`);
  }
  return out;
}

const idOf = (bytes: Buffer) => [...bytes.subarray(0, 16).toString('hex')].map((d) => String.fromCharCode(97 + parseInt(d, 16))).join('');

export function readCrx3(file: Buffer): Crx3 {
  if (file.subarray(0, 4).toString('latin1') !== 'Cr24') throw new Error('not a CRX file (magic)');
  if (file.readUInt32LE(4) !== 3) throw new Error(`CRX version ${file.readUInt32LE(4)}, not 3`);
  const headerLength = file.readUInt32LE(8);
  const header = fields(file.subarray(12, 12 + headerLength));
  const archive = file.subarray(12 + headerLength);
  const proof = fields(header.get(2)![0]!); // sha256_with_rsa
  const publicKeyDer = proof.get(1)![0]!;
  const signature = proof.get(2)![0]!;
  const signedHeaderData = header.get(10000)![0]!;
  const crxId = fields(signedHeaderData).get(1)![0]!;
  const length = Buffer.alloc(4);
  length.writeUInt32LE(signedHeaderData.length);
  const signed = Buffer.concat([Buffer.from('CRX3 SignedData\x00', 'latin1'), length, signedHeaderData, archive]);
  const key = createPublicKey({ key: publicKeyDer, format: 'der', type: 'spki' });
  return {
    publicKeyDer,
    extensionId: idOf(createHash('sha256').update(publicKeyDer).digest()),
    signedId: idOf(crxId),
    signatureValid: verify('sha256', signed, key, signature),
    archive,
  };
}
