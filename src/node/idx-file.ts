/// <reference types="node" />
/**
 * IDX files from disk. The format is read by src/data/idx.ts; this adds the
 * file system and a synchronous gunzip (node:zlib), so that a command or the
 * demo can read a dataset without going asynchronous. A file that cannot be
 * read or parsed is a FileError whose message starts with its path.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { type IdxArray, isGzip, parseIdx } from '../data/idx.js';
import { FileError } from './files.js';

/** An IDX file, gunzipped when it starts with the gzip magic number. */
export function readIdxFile(path: string): IdxArray {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new FileError(
      `${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
  let inflated: Uint8Array = bytes;
  if (isGzip(bytes)) {
    try {
      inflated = gunzipSync(bytes);
    } catch (error) {
      throw new FileError(`${path}: corrupt gzip data (${(error as Error).message})`);
    }
  }
  try {
    return parseIdx(inflated);
  } catch (error) {
    throw new FileError(`${path}: ${(error as Error).message}`);
  }
}
