import * as fs from 'node:fs';
import * as path from 'node:path';
import { arraySource, writeShards, readManifest, ShardReader, TokenDataset, inputsAndTargets, dtypeForVocab, type Doc } from '../src';
import { byteTokenizer, tmpDir } from './helpers';

const texts = [
  'hello world',
  'héllo wörld ✓',
  'third document here',
  'fourth',
  'fifth one',
  'sixth text',
  'seventh',
  'eighth',
  'ninth',
  'tenth doc',
];

function expectedStream(docs: string[], tok: ReturnType<typeof byteTokenizer>): number[] {
  return docs.flatMap((t) => [...Array.from(tok.encode(t)), tok.eosId!]);
}

describe('token shards', () => {
  it('round-trip: train/val split, eos separators, manifest, several shards', async () => {
    const dir = tmpDir();
    const tok = byteTokenizer();
    const m = await writeShards(arraySource(texts), { tokenizer: tok, outDir: dir, valFraction: 0.2, shardTokens: 16 });
    expect(m.dtype).toBe('uint16');
    expect(m.tokenizerHash).toBe('bytes+0');
    expect(m.splits.train.docs + m.splits.val.docs).toBe(10);
    expect(m.splits.val.docs).toBe(2);
    expect(m.splits.train.shards.length).toBeGreaterThan(2);
    // val docs are positions 2 and 7 (round((k+1)·f) steps)
    const valDocs = [texts[2]!, texts[7]!];
    const trainDocs = texts.filter((_, i) => i !== 2 && i !== 7);
    const r = new ShardReader(dir);
    expect(Array.from(r.readAll('train'))).toEqual(expectedStream(trainDocs, tok));
    expect(Array.from(r.readAll('val'))).toEqual(expectedStream(valDocs, tok));
    r.close();
    const files = fs.readdirSync(dir).sort();
    expect(files).toContain('manifest.json');
    expect(files.filter((f) => f.includes('.tmp-'))).toEqual([]);
    for (const s of [...m.splits.train.shards, ...m.splits.val.shards]) expect(fs.statSync(path.join(dir, s.file)).size).toBe(s.tokens * 2);
    expect(readManifest(dir)).toEqual(m);
  });

  it('uses uint32 when the vocabulary does not fit uint16, and rejects a forced uint16', async () => {
    expect(dtypeForVocab(65536)).toBe('uint16');
    expect(dtypeForVocab(65537)).toBe('uint32');
    const dir = tmpDir();
    const tok = byteTokenizer(70000);
    const m = await writeShards(arraySource(texts), { tokenizer: tok, outDir: dir, valFraction: 0.1 });
    expect(m.dtype).toBe('uint32');
    const r = new ShardReader(dir);
    const all = r.readAll('train');
    expect(Math.max(...all)).toBe(70256);
    r.close();
    await expect(writeShards(arraySource(texts), { tokenizer: tok, outDir: tmpDir(), dtype: 'uint16' })).rejects.toThrow(
      /does not fit uint16/,
    );
  });

  it('a failure mid-way leaves no manifest and no shard files', async () => {
    const dir = tmpDir();
    const tok = byteTokenizer();
    await writeShards(arraySource(texts), { tokenizer: tok, outDir: dir, valFraction: 0.1, shardTokens: 8 });
    expect(fs.existsSync(path.join(dir, 'manifest.json'))).toBe(true);
    const failing = {
      async *[Symbol.asyncIterator](): AsyncGenerator<Doc> {
        for (let i = 0; i < 6; i++) yield { id: String(i), text: texts[i]! };
        throw new Error('source broke');
      },
    };
    await expect(writeShards(failing, { tokenizer: tok, outDir: dir, valFraction: 0.1, shardTokens: 8 })).rejects.toThrow('source broke');
    expect(fs.readdirSync(dir).filter((f) => f === 'manifest.json' || f.includes('.tmp-'))).toEqual([]);
    expect(() => new ShardReader(dir)).toThrow(/no manifest\.json/);
  });

  it('clear errors: empty corpus, empty validation split, bad token ids, missing eos', async () => {
    const tok = byteTokenizer();
    await expect(writeShards(arraySource([]), { tokenizer: tok, outDir: tmpDir() })).rejects.toThrow(/empty corpus/);
    await expect(writeShards(arraySource(['a', 'b']), { tokenizer: tok, outDir: tmpDir(), valFraction: 0.1 })).rejects.toThrow(
      /validation split is empty/,
    );
    const liar = { ...tok, encode: () => [5, 9999] };
    await expect(writeShards(arraySource(['a']), { tokenizer: liar, outDir: tmpDir(), valFraction: 0 })).rejects.toThrow(
      /token id 9999 .* outside the vocabulary/,
    );
    const noEos = { ...tok, eosId: undefined };
    await expect(writeShards(arraySource(['a']), { tokenizer: noEos, outDir: tmpDir() })).rejects.toThrow(/no end-of-text id/);
  });

  it('TokenDataset: seeded random windows [B, T+1] and a sequential validation pass', async () => {
    const dir = tmpDir();
    const tok = byteTokenizer();
    const docs = Array.from({ length: 40 }, (_, i) => `document number ${i} with some text`);
    await writeShards(arraySource(docs), { tokenizer: tok, outDir: dir, valFraction: 0.25, shardTokens: 100 });
    const ref = new ShardReader(dir);
    const train = Array.from(ref.readAll('train'));
    const val = Array.from(ref.readAll('val'));
    ref.close();
    const T = 8;
    const ds = new TokenDataset(dir, { blockSize: T, batchSize: 4, seed: 3 });
    const b = ds.nextBatch();
    expect(b.tokens.length).toBe(4 * (T + 1));
    // every row is a contiguous window of the train stream (shards are crossed transparently)
    const hay = train.join(',');
    for (let r = 0; r < 4; r++) expect(hay.includes(Array.from(b.tokens.subarray(r * (T + 1), (r + 1) * (T + 1))).join(','))).toBe(true);
    const again = new TokenDataset(dir, { blockSize: T, batchSize: 4, seed: 3 });
    expect(Array.from(again.nextBatch().tokens)).toEqual(Array.from(b.tokens));
    again.close();
    const { x, y } = inputsAndTargets(b);
    expect(Array.from(x.subarray(1, T))).toEqual(Array.from(y.subarray(0, T - 1)));
    // sequential validation: windows at 0, T, 2T, ...; every token after the first is a target exactly once
    const targets: number[] = [];
    let rows = 0;
    for (const vb of ds.sequential('val')) {
      rows += vb.batchSize;
      targets.push(...inputsAndTargets(vb).y);
    }
    expect(rows).toBe(Math.floor((val.length - 1) / T));
    expect(targets).toEqual(val.slice(1, 1 + rows * T));
    expect(() => new TokenDataset(dir, { blockSize: 100000, batchSize: 1 }).nextBatch()).toThrow(/fewer than blockSize/);
    ds.close();
  });
});
