/**
 * Pictures of images for the report: a grey 8-bit PNG (RFC 2083: signature,
 * IHDR, one zlib-deflated IDAT of filter-byte-prefixed scanlines, IEND, each
 * chunk closed by the CRC-32 of its type and data) inlined as a data URL, and
 * an SVG grid of such pictures with a caption line under each.
 */
import { deflateSync } from 'node:zlib';
import { escapeXml } from '../src/report/svg.js';

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (the polynomial of ISO 3309, reflected), as PNG and gzip use it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/**
 * A grey PNG of `height`×`width` pixels in [0, 1] (row-major, 0 black), each
 * pixel drawn as a `scale`×`scale` block; `invert` draws 1 as black.
 */
export function greyPng(
  pixels: ArrayLike<number>,
  height: number,
  width: number,
  { scale = 1, invert = false }: { scale?: number; invert?: boolean } = {},
): Uint8Array {
  const h = height * scale;
  const w = width * scale;
  const raw = new Uint8Array(h * (w + 1));
  for (let r = 0; r < h; r++) {
    raw[r * (w + 1)] = 0; // filter: none
    for (let c = 0; c < w; c++) {
      const v = Math.min(1, Math.max(0, pixels[Math.floor(r / scale) * width + Math.floor(c / scale)]!));
      raw[r * (w + 1) + 1 + c] = Math.round(255 * (invert ? 1 - v : v));
    }
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, w);
  view.setUint32(4, h);
  header.set([8, 0, 0, 0, 0], 8); // 8 bits, greyscale, deflate, adaptive filtering, no interlace
  const parts = [
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', header),
    chunk('IDAT', new Uint8Array(deflateSync(raw))),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}

export interface GridImage {
  /** H·W pixels in [0, 1]. */
  pixels: ArrayLike<number>;
  /** A short line under the image, e.g. "Coat 0.98". */
  caption: string;
  /** Drawn in the accent colour, e.g. a wrong prediction. */
  flag?: boolean;
}

/** Rows of images with a caption under each and a label left of each row, as one SVG. */
export function imageGrid({
  rows,
  height,
  width,
  title,
  scale = 2,
}: {
  rows: { label: string; images: GridImage[] }[];
  height: number;
  width: number;
  title?: string;
  scale?: number;
}): string {
  const cellW = Math.max(width * scale, 80) + 12;
  const cellH = height * scale + 22;
  const labelW = 270;
  const top = title ? 28 : 6;
  const columns = Math.max(...rows.map((r) => r.images.length));
  const svgW = labelW + columns * cellW;
  const svgH = top + rows.length * cellH + 4;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${svgW} ${svgH}" width="${svgW}" height="${svgH}" font-family="system-ui, sans-serif" font-size="10">`,
  ];
  if (title) out.push(`<text x="4" y="18" font-size="13" font-weight="600">${escapeXml(title)}</text>`);
  rows.forEach((row, r) => {
    const y = top + r * cellH;
    out.push(
      `<text x="4" y="${y + (height * scale) / 2}" dy="0.32em" font-size="11">${escapeXml(row.label)}</text>`,
    );
    row.images.forEach((image, c) => {
      const x = labelW + c * cellW;
      const href = pngDataUrl(greyPng(image.pixels, height, width, { scale, invert: true }));
      out.push(
        `<image x="${x}" y="${y}" width="${width * scale}" height="${height * scale}" href="${href}"/>`,
        `<text x="${x}" y="${y + height * scale + 13}" fill="${image.flag ? '#c0392b' : '#333'}">${escapeXml(image.caption)}</text>`,
      );
    });
  });
  out.push('</svg>');
  return out.join('\n');
}
