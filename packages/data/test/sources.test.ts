import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import {
  collect,
  textSource,
  globSource,
  jsonlSource,
  stdinSource,
  sourceFromSpec,
  expandGlob,
  globToRegExp,
  normalizeStage,
  pipe,
} from '../src';
import { tmpDir } from './helpers';

describe('sources', () => {
  const dir = tmpDir();
  fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'a/one.txt'), 'first file\n\nsecond paragraph\nstill second\n');
  fs.writeFileSync(path.join(dir, 'a/b/two.txt'), 'nested file');
  fs.writeFileSync(path.join(dir, 'a/b/skip.md'), 'not matched');
  fs.writeFileSync(path.join(dir, 'bad-utf8.txt'), Buffer.concat([Buffer.from('ok '), Buffer.from([0xc3, 0x28]), Buffer.from(' fine')]));

  it('text files: per file, paragraph or line', async () => {
    const f = path.join(dir, 'a/one.txt');
    expect((await collect(textSource(f))).map((d) => d.text)).toEqual(['first file\n\nsecond paragraph\nstill second\n']);
    expect((await collect(textSource(f, { split: 'paragraph' }))).map((d) => [d.id, d.text])).toEqual([
      [`${f}#0`, 'first file'],
      [`${f}#1`, 'second paragraph\nstill second'],
    ]);
    expect((await collect(textSource(f, { split: 'line' }))).map((d) => d.id)).toEqual([`${f}:1`, `${f}:3`, `${f}:4`]);
  });

  it('globs and directories', async () => {
    expect(globToRegExp('**/*.txt').test('x/y/z.txt')).toBe(true);
    expect(globToRegExp('**/*.txt').test('z.txt')).toBe(true);
    expect(globToRegExp('*.{txt,md}').test('a/z.md')).toBe(false);
    expect(expandGlob(path.join(dir, 'a/**/*.txt')).map((p) => path.relative(dir, p))).toEqual(['a/b/two.txt', 'a/one.txt']);
    const docs = await collect(globSource(path.join(dir, 'a')));
    expect(docs).toHaveLength(3);
    expect(() => globSource(path.join(dir, 'nothing/*.txt'))).toThrow(/no files match/);
  });

  it('invalid UTF-8 is replaced at the source and counted by normalise', async () => {
    const src = textSource(path.join(dir, 'bad-utf8.txt'));
    const norm = normalizeStage();
    const [d] = await collect(pipe(src, norm));
    expect(d!.text).toBe('ok \uFFFD( fine');
    expect(src.stats.invalidUtf8).toBe(1);
    expect(norm.stats.extra.invalidUtf8Sequences).toBe(1);
  });

  it('JSONL: text/id fields (dotted paths), file:line errors, skipBad', async () => {
    const f = path.join(dir, 'x.jsonl');
    fs.writeFileSync(f, '{"id":"a","doc":{"body":"one"}}\n\n{"doc":{"body":"two"}}\n[1,2]\n{"id":5,"doc":{"body":3}}\n');
    await expect(collect(jsonlSource(f, { field: 'doc.body' }))).rejects.toThrow(`${f}:4: expected a JSON object`);
    const src = jsonlSource(f, { field: 'doc.body', skipBad: true });
    const docs = await collect(src);
    expect(docs.map((d) => [d.id, d.text])).toEqual([
      ['a', 'one'],
      [`${f}:3`, 'two'],
    ]);
    expect(src.stats.badRecords).toBe(2);
    expect(src.stats.badExamples[1]).toContain(`${f}:5: field "doc.body" is not a string`);
    // re-iterable
    expect(await collect(src)).toHaveLength(2);
    expect(() => jsonlSource(path.join(dir, 'missing.jsonl'))).toThrow(/file not found/);
  });

  it('stdin: jsonl, lines, whole text', async () => {
    const s1 = stdinSource({ stream: Readable.from([Buffer.from('{"id":"q","text":"from stdin"}\n')]) });
    expect((await collect(s1)).map((d) => d.id)).toEqual(['q']);
    const s2 = stdinSource({ format: 'lines', stream: Readable.from([Buffer.from('l1\n\nl2\n')]) });
    expect((await collect(s2)).map((d) => d.text)).toEqual(['l1', 'l2']);
    const s3 = stdinSource({ format: 'text', stream: Readable.from([Buffer.from('all\nof it')]) });
    expect((await collect(s3)).map((d) => d.text)).toEqual(['all\nof it']);
  });

  it('spec strings', async () => {
    const f = path.join(dir, 'y.jsonl');
    fs.writeFileSync(f, '{"id":1,"content":"spec text"}\n');
    expect((await collect(sourceFromSpec(`jsonl:${f}#content`))).map((d) => d.text)).toEqual(['spec text']);
    expect((await collect(sourceFromSpec(`${f}#content`))).map((d) => d.text)).toEqual(['spec text']);
    expect((await collect(sourceFromSpec(`paragraphs:${path.join(dir, 'a/one.txt')}`))).length).toBe(2);
    expect(sourceFromSpec('wordnet').name).toBe('wordnet');
    expect(() => sourceFromSpec(path.join(dir, 'nope.txt'))).toThrow(/file not found/);
  });
});
