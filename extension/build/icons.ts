// The toolbar icon, drawn at build time so no binary files live in the repository:
// a rounded square with an open eye. A minimal PNG encoder (RGBA, zlib via node).
import { deflateSync } from 'node:zlib';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export function encodePng(width: number, height: number, rgba: Uint8Array): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // RGBA
  const raw = Buffer.alloc((width * 4 + 1) * height);
  for (let y = 0; y < height; y++) {
    raw[y * (width * 4 + 1)] = 0; // filter: none
    Buffer.from(rgba.buffer, rgba.byteOffset + y * width * 4, width * 4).copy(raw, y * (width * 4 + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', new Uint8Array()),
  ]);
}

/** Signed distance to a rounded box of half-size h and radius r, centred at 0. */
function roundedBox(x: number, y: number, h: number, r: number): number {
  const qx = Math.abs(x) - h + r;
  const qy = Math.abs(y) - h + r;
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - r;
}

/** Signed distance to an eye (intersection of two circles), width 2a, height 2b. */
function eye(x: number, y: number, a: number, b: number): number {
  const R = (a * a + b * b) / (2 * b); // circle through (±a, 0) and (0, ±b)
  const top = Math.hypot(x, y - (b - R)) - R;
  const bottom = Math.hypot(x, y + (b - R)) - R;
  return Math.max(top, bottom);
}

export function drawIcon(size: number): Buffer {
  const rgba = new Uint8Array(size * size * 4);
  const bg = [0x1d, 0x4e, 0xd8];
  const fg = [0xff, 0xff, 0xff];
  const samples = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let bgCover = 0;
      let fgCover = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          // Coordinates in [-1, 1].
          const x = ((px + (sx + 0.5) / samples) / size) * 2 - 1;
          const y = ((py + (sy + 0.5) / samples) / size) * 2 - 1;
          if (roundedBox(x, y, 0.96, 0.3) > 0) continue;
          bgCover++;
          const outline = eye(x, y, 0.78, 0.46);
          const inOutline = outline <= 0 && outline > -0.13;
          const pupil = Math.hypot(x, y) <= 0.24;
          if (inOutline || pupil) fgCover++;
        }
      }
      const n = samples * samples;
      const i = (py * size + px) * 4;
      const f = fgCover / Math.max(bgCover, 1);
      for (let c = 0; c < 3; c++) rgba[i + c] = Math.round(bg[c]! * (1 - f) + fg[c]! * f);
      rgba[i + 3] = Math.round((bgCover / n) * 255);
    }
  }
  return encodePng(size, size, rgba);
}
