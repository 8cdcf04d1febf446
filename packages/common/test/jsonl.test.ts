import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseJsonl, expectObject, stringField, JsonlError } from '../src/index';
import { readJsonlFile, streamJsonlFile, writeFileAtomic, writeFileAtomicAsync, AtomicWriter } from '../src/node';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'gptlab-common-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('JSONL', () => {
  it('skips blank lines and keeps 1-based line numbers', () => {
    expect([...parseJsonl('{"a":1}\n\n  \n[2]\r\n"x"\n', 'f.jsonl')]).toEqual([
      { value: { a: 1 }, line: 1 },
      { value: [2], line: 4 },
      { value: 'x', line: 5 },
    ]);
  });
  it('names file:line for bad JSON, a non-object and a missing field', () => {
    expect(() => [...parseJsonl('{"a":1}\n{oops\n', 'data.jsonl')]).toThrow(/^data\.jsonl:2: invalid JSON/);
    expect(() => expectObject([1], 'd.jsonl', 7)).toThrow('d.jsonl:7: expected a JSON object, got an array');
    expect(() => stringField({ a: 1 }, 'text', 'd.jsonl', 3)).toThrow('d.jsonl:3: missing field "text"');
    expect(() => stringField({ text: 1 }, 'text', 'd.jsonl', 3)).toThrow(JsonlError);
  });
  it('reads files whole and streamed, with the same records', async () => {
    const f = path.join(tmp, 'x.jsonl');
    fs.writeFileSync(f, '{"t":"a"}\n\n{"t":"b"}\n');
    const whole = readJsonlFile(f);
    const streamed: unknown[] = [];
    for await (const r of streamJsonlFile(f)) streamed.push(r);
    expect(streamed).toEqual(whole);
    expect(whole.map((r) => r.line)).toEqual([1, 3]);
    expect(() => readJsonlFile(path.join(tmp, 'missing.jsonl'))).toThrow(/missing\.jsonl: file not found/);
  });
});

describe('atomic writes', () => {
  const leftovers = () => fs.readdirSync(tmp).filter((f) => f.includes('.tmp-'));
  it('writes whole files and leaves no temp file', async () => {
    const f = path.join(tmp, 'sub', 'a.txt');
    writeFileAtomic(f, 'one');
    expect(fs.readFileSync(f, 'utf8')).toBe('one');
    await writeFileAtomicAsync(f, [Buffer.from('two'), new Uint8Array([0x21])]);
    expect(fs.readFileSync(f, 'utf8')).toBe('two!');
    expect(fs.readdirSync(path.dirname(f))).toEqual(['a.txt']);
  });
  it('AtomicWriter shows nothing until commit, and abort keeps the old file', () => {
    const f = path.join(tmp, 'b.txt');
    fs.writeFileSync(f, 'old');
    const w = new AtomicWriter(f);
    w.write('new ');
    w.write(Buffer.from('bytes'));
    expect(fs.readFileSync(f, 'utf8')).toBe('old');
    w.commit();
    expect(fs.readFileSync(f, 'utf8')).toBe('new bytes');
    const w2 = new AtomicWriter(f);
    w2.write('half');
    w2.abort();
    expect(fs.readFileSync(f, 'utf8')).toBe('new bytes');
    expect(leftovers()).toEqual([]);
  });
  it('a failed write removes its temp file', () => {
    const dir = path.join(tmp, 'isdir');
    fs.mkdirSync(dir, { recursive: true });
    expect(() => writeFileAtomic(dir, 'x')).toThrow();
    expect(leftovers()).toEqual([]);
  });
});
