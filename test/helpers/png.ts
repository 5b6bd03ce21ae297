/**
 * A small PNG reader for tests (8-bit RGB/RGBA, non-interlaced: what Chromium's screenshots are),
 * so that a rendered diagram can be checked for what it shows: how much is not background and
 * which colours appear. Inflates with node:zlib and undoes the five PNG row filters.
 */
import { inflateSync } from 'node:zlib';

export interface Png {
  readonly width: number;
  readonly height: number;
  /** RGBA, 4 bytes per pixel. */
  readonly rgba: Uint8Array;
}

export function readPng(file: Uint8Array): Png {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!sig.every((b, i) => file[i] === b)) throw new Error('not a PNG file');
  const dv = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let at = 8;
  let width = 0, height = 0, depth = 0, colour = 0, interlace = 0;
  const idat: Uint8Array[] = [];
  while (at + 8 <= file.length) {
    const len = dv.getUint32(at);
    const type = String.fromCharCode(...file.subarray(at + 4, at + 8));
    const body = file.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = dv.getUint32(at + 8);
      height = dv.getUint32(at + 12);
      depth = body[8]!;
      colour = body[9]!;
      interlace = body[12]!;
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    at += 12 + len;
  }
  if (depth !== 8 || (colour !== 2 && colour !== 6) || interlace !== 0) throw new Error(`unsupported PNG: depth ${depth}, colour type ${colour}, interlace ${interlace}`);
  const bpp = colour === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const out = new Uint8Array(width * height * 4);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const row = Uint8Array.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? row[x - bpp]! : 0;
      const b = prev[x]!;
      const c = x >= bpp ? prev[x - bpp]! : 0;
      let p: number;
      switch (f) {
        case 0: p = 0; break;
        case 1: p = a; break;
        case 2: p = b; break;
        case 3: p = (a + b) >> 1; break;
        case 4: {
          const pa = Math.abs(b - c), pb = Math.abs(a - c), pc = Math.abs(a + b - 2 * c);
          p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
          break;
        }
        default: throw new Error(`bad PNG filter ${f} on row ${y}`);
      }
      row[x] = (row[x]! + p) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      out[(y * width + x) * 4] = row[x * bpp]!;
      out[(y * width + x) * 4 + 1] = row[x * bpp + 1]!;
      out[(y * width + x) * 4 + 2] = row[x * bpp + 2]!;
      out[(y * width + x) * 4 + 3] = bpp === 4 ? row[x * bpp + 3]! : 255;
    }
    prev = row;
  }
  return { width, height, rgba: out };
}

/** Counts pixels by a predicate over (r, g, b). */
export function countPixels(png: Png, pred: (r: number, g: number, b: number) => boolean): number {
  let n = 0;
  for (let i = 0; i < png.rgba.length; i += 4) if (pred(png.rgba[i]!, png.rgba[i + 1]!, png.rgba[i + 2]!)) n++;
  return n;
}
