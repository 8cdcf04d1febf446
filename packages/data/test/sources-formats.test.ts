import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { brownDocs, brownFileText, collect, detokenize, jsonlSource, parquetSource, sourceFromSpec, textSource } from '../src';
import { writeParquet } from './parquet-writer';
import { tmpDir } from './helpers';

const fixture = (f: string) => path.join(__dirname, 'fixtures', f);

describe('Brown corpus', () => {
  it('detokenises tagged sentences into running text', () => {
    expect(detokenize(['``', 'Only', 'a', 'handful', "''", ',', 'the', 'jury', 'said', '.'])).toBe('"Only a handful", the jury said.');
    expect(detokenize(['(', 'see', 'below', ')', 'it', "'s", 'Mr.', 'Jones', '.'])).toBe("(see below) it's Mr. Jones.");
    expect(brownFileText('\n\n\tThe/at jury/nn said/vbd ./.\n\tIt/pps agreed/vbd ./.\n\n\n\tNext/ap one/cd ./.\n')).toBe(
      'The jury said. It agreed.\n\nNext one.',
    );
  });

  it('yields the 500 files with their cats.txt category, tags stripped', () => {
    const docs = [...brownDocs()];
    expect(docs).toHaveLength(500);
    expect(docs[0]!.id).toBe('brown:ca01');
    expect(docs[0]!.meta!.category).toBe('news');
    expect(docs[0]!.text.startsWith('The Fulton County Grand Jury said Friday an investigation')).toBe(true);
    // no tags survive: no token of the form word/tag
    expect(docs.some((d) => /\/(at|nn|nns|vbd|in|jj|np|cc|pps) /.test(d.text))).toBe(false);
    expect([...brownDocs({ categories: ['humor'] })]).toHaveLength(9);
    expect(() => [...brownDocs({ categories: ['nope'] })]).toThrow(/unknown category "nope"/);
    expect(sourceFromSpec('brown:science_fiction').name).toBe('brown');
  });
});

describe('compressed files, globs and Parquet', () => {
  const dir = tmpDir();
  const lines = '{"id":"g1","text":"gzip first"}\n{"id":"g2","text":"gzip second"}\n';
  fs.writeFileSync(path.join(dir, 'a.jsonl.gz'), zlib.gzipSync(lines));
  fs.writeFileSync(path.join(dir, 'b.jsonl'), '{"id":"p1","text":"plain"}\n');
  fs.writeFileSync(path.join(dir, 'c.txt.gz'), zlib.gzipSync('one\n\ntwo\n'));
  fs.mkdirSync(path.join(dir, 'junk'));
  fs.writeFileSync(path.join(dir, 'junk/bad.jsonl.gz'), 'not gzip at all');

  it('.gz and .zst JSONL stream with file:line errors and --skip-bad counts', async () => {
    expect((await collect(jsonlSource(path.join(dir, 'a.jsonl.gz')))).map((d) => d.text)).toEqual(['gzip first', 'gzip second']);
    const zst = fixture('docs.jsonl.zst');
    await expect(collect(jsonlSource(zst))).rejects.toThrow(`${zst}:3: invalid JSON`);
    const src = jsonlSource(zst, { skipBad: true });
    expect((await collect(src)).map((d) => d.id)).toEqual(['z1', 'z2']);
    expect(src.stats.badRecords).toBe(1);
    await expect(collect(jsonlSource(path.join(dir, 'junk/bad.jsonl.gz')))).rejects.toThrow(/bad\.jsonl\.gz: not a valid gzip file/);
    expect((await collect(textSource(path.join(dir, 'c.txt.gz'), { split: 'paragraph' }))).map((d) => d.text)).toEqual(['one', 'two']);
  });

  it('specs: bare compressed paths and JSONL globs', async () => {
    expect((await collect(sourceFromSpec(path.join(dir, 'a.jsonl.gz')))).length).toBe(2);
    const glob = sourceFromSpec(`jsonl:${dir}/*.jsonl{,.gz}`);
    expect((await collect(glob)).map((d) => d.id)).toEqual(['g1', 'g2', 'p1']);
    expect(() => sourceFromSpec(`jsonl:${dir}/*.nothing`)).toThrow(/no files match/);
    expect((await collect(sourceFromSpec(`${fixture('docs.jsonl.zst')}#text`, { skipBad: true }))).length).toBe(2);
  });

  it('Parquet: one document per row across row groups, --field, missing values', async () => {
    const f = path.join(dir, 'd.parquet');
    writeParquet(
      f,
      ['id', 'content'],
      [
        [
          { id: 'r0', content: 'héllo wörld' },
          { id: 'r1', content: 'second row' },
        ],
        [{ id: 'r2', content: 'third row, second group' }],
      ],
    );
    const docs = await collect(parquetSource(f, { field: 'content' }));
    expect(docs.map((d) => [d.id, d.text])).toEqual([
      ['r0', 'héllo wörld'],
      ['r1', 'second row'],
      ['r2', 'third row, second group'],
    ]);
    expect((await collect(sourceFromSpec(`${f}#content`))).length).toBe(3);
    await expect(collect(parquetSource(f))).rejects.toThrow(`${f}: no column "text" (columns: id, content)`);
    expect(() => parquetSource(path.join(dir, 'missing.parquet'))).toThrow(/file not found/);
    fs.writeFileSync(path.join(dir, 'junk.parquet'), 'PAR1 this is not parquet');
    await expect(collect(parquetSource(path.join(dir, 'junk.parquet')))).rejects.toThrow(/not a readable Parquet file/);
  });
});
