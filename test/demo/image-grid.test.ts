/**
 * The report's PNG pictures: CRC-32 against the standard check value, and a
 * PNG decoded by hand (chunk walk, CRC of each chunk, zlib inflate, filter
 * bytes) gives back the pixels, scaled up by whole blocks.
 */
import { inflateSync } from 'node:zlib';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { crc32, greyPng, imageGrid } from '../../demo/image-grid.js';

function decode(png: Uint8Array) {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  expect(Array.from(png.subarray(0, 8))).toEqual([137, 80, 78, 71, 13, 10, 26, 10]);
  const chunks: Record<string, Uint8Array> = {};
  for (let at = 8; at < png.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    expect(view.getUint32(at + 8 + length)).toBe(crc32(png.subarray(at + 4, at + 8 + length)));
    chunks[type] = png.subarray(at + 8, at + 8 + length);
    at += 12 + length;
  }
  const header = new DataView(chunks['IHDR']!.buffer, chunks['IHDR']!.byteOffset);
  const width = header.getUint32(0);
  const height = header.getUint32(4);
  const raw = inflateSync(chunks['IDAT']!);
  const pixels: number[] = [];
  for (let r = 0; r < height; r++) {
    expect(raw[r * (width + 1)]).toBe(0);
    pixels.push(...raw.subarray(r * (width + 1) + 1, (r + 1) * (width + 1)));
  }
  return { width, height, pixels, types: Object.keys(chunks) };
}

describe('greyPng', () => {
  it('CRC-32 of "123456789" is the check value 0xCBF43926', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf43926);
  });

  test.prop([
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 1, max: 6 }),
    fc.integer({ min: 1, max: 3 }),
    fc.boolean(),
  ])('decodes to the pixels, each a scale×scale block of round(255·v)', (height, width, scale, invert) => {
    const values = Array.from({ length: height * width }, (_, i) => ((i * 37) % 101) / 100);
    const png = decode(greyPng(values, height, width, { scale, invert }));
    expect([png.height, png.width]).toEqual([height * scale, width * scale]);
    expect(png.types).toEqual(['IHDR', 'IDAT', 'IEND']);
    for (let r = 0; r < height * scale; r++) {
      for (let c = 0; c < width * scale; c++) {
        const v = values[Math.floor(r / scale) * width + Math.floor(c / scale)]!;
        expect(png.pixels[r * width * scale + c]).toBe(Math.round(255 * (invert ? 1 - v : v)));
      }
    }
  });

  it('imageGrid draws one picture and caption per image, flagged ones in red', () => {
    const svg = imageGrid({
      rows: [
        {
          label: 'row',
          images: [
            { pixels: [0, 1, 1, 0], caption: 'A & B' },
            { pixels: [1, 1, 1, 1], caption: 'C', flag: true },
          ],
        },
      ],
      height: 2,
      width: 2,
    });
    expect(svg.match(/<image /g)).toHaveLength(2);
    expect(svg).toContain('A &amp; B');
    expect(svg).toMatch(/fill="#c0392b">C</);
  });
});
