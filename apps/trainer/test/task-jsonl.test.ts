import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readTaskFile } from '../src/finetune/jsonl';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tasks-'));
const write = (name: string, lines: unknown[]) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return p;
};

it('reads each task kind and maps label names to indices', () => {
  const f = write('cls.jsonl', [
    { text: 'a', label: 'pos' },
    { text: 'b', label: 'neg' },
  ]);
  const r = readTaskFile(f, 'cls');
  expect(r.labels).toEqual(['neg', 'pos']);
  expect(r.examples.map((e) => e.label)).toEqual([1, 0]);
  const mc = readTaskFile(write('mc.jsonl', [{ context: 'c', options: ['x', 'y', 'z'], label: 2 }]), 'mc');
  expect(mc.examples[0]).toEqual({ kind: 'mc', context: 'c', options: ['x', 'y', 'z'], label: 2 });
});

it('names the file and line of bad input', () => {
  expect(() => readTaskFile(write('m.jsonl', [{ text: 'a', label: 'x' }, { label: 'y' }]), 'cls')).toThrow(
    /m.jsonl:2: missing field "text"/,
  );
  expect(() => readTaskFile(write('l.jsonl', [{ text: 'a', label: 'z' }]), 'cls', { labels: ['x', 'y'] })).toThrow(
    /l.jsonl:1: label "z" is outside the label set \[x, y\]/,
  );
  expect(() =>
    readTaskFile(
      write('o.jsonl', [
        { context: 'c', options: ['a', 'b'], label: 0 },
        { context: 'c', options: ['a', 'b', 'c'], label: 0 },
      ]),
      'mc',
    ),
  ).toThrow(/o.jsonl:2: 3 options, but the head scores 2/);
  expect(() => readTaskFile(write('j.jsonl', ['{"text": "a", "label": 0}', '{oops']), 'cls')).toThrow(/j.jsonl:2: invalid JSON/);
  expect(() => readTaskFile(path.join(dir, 'missing.jsonl'), 'cls')).toThrow(/missing.jsonl: file not found/);
});
