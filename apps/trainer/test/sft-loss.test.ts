// SFT: the masked loss against an independent per-token computation (prompt tokens excluded), packing, and a
// tiny run whose held-out assistant loss falls.
import * as path from 'node:path';
import { initBackend, tf, IGNORE_INDEX } from '@gptlab/tensor';
import { GPT, getPreset, loadGPT, saveGPT } from '@gptlab/model';
import { BPETokenizer } from '@gptlab/tokenizer';
import * as fs from 'node:fs';
import { ChatTemplate } from '../src/align/template';
import type { ChatMessage } from '../src/align/chat';
import { encodeConversation, makeSftBatch, packSequences, sftLoss, trainSft, SFT_DEFAULTS } from '../src/align/sft';
import { readMetrics, tmpDir } from './helpers';

beforeAll(async () => {
  await initBackend();
});

const tok = BPETokenizer.train(['user: the red fox jumps', 'assistant: a blue bird sings', 'system: be brief'], {
  vocabSize: 300,
  minFrequency: 1,
  specialTokens: ['<|endoftext|>'],
});
const template = ChatTemplate.default();
const conv = (q: string, a: string, sys?: string): ChatMessage[] => [
  ...(sys ? [{ role: 'system' as const, content: sys }] : []),
  { role: 'user', content: q },
  { role: 'assistant', content: a },
];
const gpt = (seed: number) => GPT.create(getPreset('nano', { vocabSize: tok.vocabSize, nPositions: 96 }), { seed });

/** −mean log p(token) over the assistant tokens only, from the full-sequence logits, in float64. */
function handLoss(m: GPT, messages: ChatMessage[][]): number {
  let sum = 0;
  let n = 0;
  for (const msgs of messages) {
    const prompt = tok.encode(template.render(msgs.slice(0, -1), true), { allowedSpecial: 'all' });
    const answer = tok.encode(`${msgs[msgs.length - 1]!.content}<|endoftext|>`, { allowedSpecial: 'all' });
    const ids = [...prompt, ...answer];
    const logits = tf.tidy(() => m.forward(tf.tensor2d([ids], [1, ids.length], 'int32')).logits.arraySync() as number[][][]);
    for (let k = 0; k < answer.length; k++) {
      const row = logits[0]![prompt.length + k - 1]!;
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
      sum += lse - row[answer[k]!]!;
      n++;
    }
  }
  return sum / n;
}

describe('sft loss', () => {
  test('masks every prompt token and equals the per-token hand computation', () => {
    const data = [conv('the red fox', 'a blue bird', 'be brief'), conv('jumps', 'sings')];
    const seqs = data.map((c) => encodeConversation(tok, template, c, 96));
    // Only the answer tokens and the closing eos are targets.
    const answer = tok.encode('a blue bird<|endoftext|>', { allowedSpecial: 'all' });
    expect(seqs[0]!.targets.filter((t) => t !== IGNORE_INDEX)).toEqual(answer);
    expect(answer[answer.length - 1]).toBe(tok.eosId);
    const m = gpt(1);
    const expected = handLoss(m, data);
    const before = tf.memory().numTensors;
    const loss = sftLoss(m)(makeSftBatch(seqs, tok.eosId!), { seed: 0, step: 0, chunk: 0, training: false });
    expect(loss.dataSync()[0]).toBeCloseTo(expected, 4);
    loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    m.dispose();
  });

  test('packing fills rows without letting a target cross a conversation boundary', () => {
    const seqs = [conv('the', 'a'), conv('red', 'blue'), conv('fox', 'bird')].map((c) => encodeConversation(tok, template, c, 96));
    const rows = packSequences(seqs, 96);
    expect(rows.length).toBeLessThan(seqs.length);
    expect(rows.flatMap((r) => r.targets)).toEqual(seqs.flatMap((s) => s.targets));
    for (const r of rows) expect(r.ids.length).toBeLessThanOrEqual(96);
  });

  test('truncation keeps the prefix and never targets past the cut', () => {
    const s = encodeConversation(tok, template, conv('the red fox jumps the red fox jumps', 'a blue bird sings'), 12);
    expect(s.ids).toHaveLength(12);
    expect(s.targets[11]).toBe(IGNORE_INDEX);
  });
});

describe('trainSft', () => {
  test('a tiny run lowers the held-out assistant loss and saves the chat template', async () => {
    const root = tmpDir('sft-run');
    const pairs: [string, string][] = [
      ['the red fox', 'jumps'],
      ['a blue bird', 'sings'],
      ['the red bird', 'sings'],
      ['a blue fox', 'jumps'],
    ];
    const train = Array.from({ length: 16 }, (_, i) => conv(pairs[i % 4]![0], pairs[i % 4]![1], i % 2 ? 'be brief' : undefined));
    const held = pairs.map(([q, a]) => conv(q, a));
    const m = gpt(3);
    const out = path.join(root, 'run');
    const r = await trainSft(
      m,
      tok,
      template,
      { train, held },
      { ...SFT_DEFAULTS, lr: 3e-3, epochs: 30, batchSize: 4, packing: true, out, evalEvery: 4 },
    );
    const evals = readMetrics(r.run.runDir).filter((e) => e.val_loss !== undefined || e.type === 'eval');
    expect(r.evalLoss).not.toBeNull();
    expect(r.trainSequences).toBeLessThan(16);
    const base = gpt(3);
    const first = handLoss(base, held);
    base.dispose();
    expect(r.evalLoss!).toBeLessThan(first * 0.7);
    expect(evals.length).toBeGreaterThan(0);
    const cfg = JSON.parse(fs.readFileSync(path.join(r.run.checkpoint!, 'tokenizer_config.json'), 'utf8'));
    expect(cfg.chat_template).toBe(template.spec.source);
    const reloaded = await loadGPT(r.run.checkpoint!);
    expect(handLoss(reloaded, held)).toBeCloseTo(r.evalLoss!, 4);
    reloaded.dispose();
    m.dispose();
  }, 60000);
});
