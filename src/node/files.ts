/// <reference types="node" />
/**
 * The CLI's contact with the file system: reading inputs with errors a user
 * can act on, and writing outputs all or nothing.
 *
 * An output is first written in full to a temporary file beside its
 * destination and then renamed over it; rename within one directory is atomic,
 * so a reader never sees half a file and a failure leaves the old file (or no
 * file) behind. Several outputs are all written before any is renamed.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { LaplaceTsError } from '../errors.js';

/** A problem with a file the user named: the message starts with the file's name. */
export class FileError extends LaplaceTsError {
  override name = 'FileError';
}

/** The text of `path`, or a FileError saying why it cannot be read. */
export function readTextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new FileError(`${path}: ${systemReason(error, 'cannot be read')}`);
  }
}

/** The bytes of `path`, or a FileError saying why it cannot be read. */
export function readBinaryFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (error) {
    throw new FileError(`${path}: ${systemReason(error, 'cannot be read')}`);
  }
}

/** Fail now, before any work, if `path` could not be created later: its directory must exist. */
export function checkWritable(path: string): void {
  const directory = dirname(path);
  let isDirectory = false;
  try {
    isDirectory = statSync(directory).isDirectory();
  } catch {
    // reported below
  }
  if (!isDirectory)
    throw new FileError(`${path}: cannot be written, the directory ${directory} does not exist`);
  try {
    if (statSync(path).isDirectory()) throw new FileError(`${path}: cannot be written, it is a directory`);
  } catch (error) {
    if (error instanceof FileError) throw error;
  }
}

/**
 * Whether two paths name one file, however spelt: `./a` and `a`, through
 * symbolic links, or differing in case on a file system that ignores case. An
 * existing file is known by its device and inode; one yet to be written by its
 * directory's real path and its name (compared without case where the
 * directory's file system ignores case).
 */
export function sameFile(a: string, b: string): boolean {
  const first = identity(a);
  const second = identity(b);
  if (first.inode !== undefined && second.inode !== undefined) return first.inode === second.inode;
  if (first.directory !== second.directory) return false;
  if (first.name === second.name) return true;
  return first.name.toLowerCase() === second.name.toLowerCase() && ignoresCase(first.directory);
}

function identity(path: string): { inode?: string; directory: string; name: string } {
  let directory = dirname(path);
  try {
    directory = realpathSync(directory);
  } catch {
    // A missing directory is reported by checkWritable or readTextFile.
  }
  try {
    const stats = statSync(path);
    return { inode: `${stats.dev}:${stats.ino}`, directory, name: basename(path) };
  } catch {
    return { directory, name: basename(path) };
  }
}

/** Whether `directory` is the same directory when the case of its name (or its nearest ancestor's with letters) is flipped. */
function ignoresCase(directory: string): boolean {
  const parent = dirname(directory);
  if (parent === directory) return false;
  const name = basename(directory);
  const flipped = [...name].map((c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase())).join('');
  if (flipped === name) return ignoresCase(parent);
  try {
    const here = statSync(directory);
    const there = statSync(join(parent, flipped));
    return here.dev === there.dev && here.ino === there.ino;
  } catch {
    return false;
  }
}

/** A path the user gave and the option that gave it. */
export interface NamedPath {
  option: string;
  path: string;
}

/**
 * Refuse, before any work, a command whose outputs would overwrite one of its
 * inputs or each other.
 */
export function checkDistinct(outputs: readonly NamedPath[], inputs: readonly NamedPath[]): void {
  for (const [i, output] of outputs.entries()) {
    for (const other of [...outputs.slice(i + 1), ...inputs]) {
      if (sameFile(output.path, other.path))
        throw new FileError(`${output.option} and ${other.option} are the same file (${output.path})`);
    }
  }
}

/** Write every file or none: all go to temporary files first, then each is renamed into place. */
export function writeFilesAtomically(files: readonly { path: string; text: string }[]): void {
  const staged: { temporary: string; path: string }[] = [];
  try {
    for (const { path, text } of files) {
      const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
      staged.push({ temporary, path });
      try {
        writeFileSync(temporary, text, { flag: 'wx' });
      } catch (error) {
        throw new FileError(`${path}: ${systemReason(error, 'cannot be written')}`);
      }
    }
    for (const { temporary, path } of staged) {
      try {
        renameSync(temporary, path);
      } catch (error) {
        throw new FileError(`${path}: ${systemReason(error, 'cannot be written')}`);
      }
    }
  } finally {
    for (const { temporary } of staged) rmSync(temporary, { force: true });
  }
}

/** A short reason from a Node system error code. */
function systemReason(error: unknown, fallback: string): string {
  const code = (error as { code?: string } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'is a directory, not a file';
    case 'EACCES':
    case 'EPERM':
      return `${fallback}: permission denied`;
    case 'ENOTDIR':
      return 'a part of the path is not a directory';
    default:
      return `${fallback} (${code ?? (error instanceof Error ? error.message : String(error))})`;
  }
}
