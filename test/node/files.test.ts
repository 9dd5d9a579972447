/**
 * sameFile and checkDistinct: one file however its path is spelt (./a and a,
 * dir/../a, a symbolic link to the file or to its directory), existing or
 * yet to be written; distinct files stay distinct, including names that
 * differ only in case on a file system that keeps case.
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkDistinct, FileError, sameFile } from '../../src/node/files.js';
import { scratch } from '../cli/run-cli.js';

const work = scratch('laplace-ts-files-');
afterAll(() => work.remove());
const dir = join(work.dir, 'dir');
mkdirSync(dir);
const existing = join(dir, 'data.csv');
writeFileSync(existing, 'x\n1\n');
symlinkSync(existing, join(work.dir, 'link.csv'));
symlinkSync(dir, join(work.dir, 'linkdir'));

describe('sameFile', () => {
  it.each([
    ['an existing file as ./a and a', join(dir, '.', 'data.csv'), existing],
    ['an existing file through dir/..', join(dir, '..', 'dir', 'data.csv'), existing],
    ['an existing file and a symbolic link to it', join(work.dir, 'link.csv'), existing],
    [
      'a file to be written, through a link to its directory',
      join(work.dir, 'linkdir', 'new.json'),
      join(dir, 'new.json'),
    ],
    ['a file to be written, as ./a and a', join(dir, '.', 'new.json'), join(dir, 'new.json')],
  ])('%s: the same file', (_, a, b) => {
    expect(sameFile(a, b)).toBe(true);
    expect(sameFile(b, a)).toBe(true);
  });

  it('tells different files apart, existing or not', () => {
    expect(sameFile(existing, join(dir, 'other.csv'))).toBe(false);
    expect(sameFile(join(dir, 'a.json'), join(dir, 'b.json'))).toBe(false);
    expect(sameFile(join(dir, 'a.json'), join(work.dir, 'a.json'))).toBe(false);
  });

  it('compares names without case only where the file system ignores case', () => {
    const upper = join(dir, 'Case.txt');
    writeFileSync(upper, '');
    const ignoresCase = existsSync(join(dir, 'case.txt'));
    expect(sameFile(join(dir, 'NEW.json'), join(dir, 'new.json'))).toBe(ignoresCase);
    expect(sameFile(upper, join(dir, 'case.txt'))).toBe(ignoresCase);
  });
});

describe('checkDistinct', () => {
  it('names the two options that are the same file', () => {
    expect(() =>
      checkDistinct(
        [{ option: '--out', path: join(work.dir, 'link.csv') }],
        [{ option: '--data', path: existing }],
      ),
    ).toThrow(new FileError(`--out and --data are the same file (${join(work.dir, 'link.csv')})`));
    expect(() =>
      checkDistinct(
        [
          { option: '--out', path: join(dir, 'm.json') },
          { option: '--report', path: join(dir, 'r.html') },
        ],
        [
          { option: '--data', path: existing },
          { option: '--model', path: existing },
        ],
      ),
    ).not.toThrow();
  });
});
