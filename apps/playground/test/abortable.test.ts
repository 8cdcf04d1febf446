// abortableLanguageModel: the stop switch wraps every session the model can start, the beam session included.
import type { LanguageModel, ModelSession } from '@gptlab/decoding';
import { abortableLanguageModel } from '../src/abortable';

function countingModel(calls: string[]): LanguageModel {
  const session = (kind: string, rows: number): ModelSession => ({
    feed: async (tokens) => {
      calls.push(`${kind}:feed:${tokens.length}`);
      return tokens.map(() => new Float32Array([0, 1, 2]));
    },
    reorder: (r) => void calls.push(`${kind}:reorder:${r.join(',')}`),
    dispose: () => void calls.push(`${kind}:dispose:${rows}`),
  });
  return {
    vocabSize: 3,
    contextLength: 8,
    start: (batch) => session('rows', batch),
    startBeams: () => session('beams', 1),
  };
}

describe('abortableLanguageModel', () => {
  it('keeps startBeams, and its session stops when the signal aborts', async () => {
    const calls: string[] = [];
    const controller = new AbortController();
    const lm = abortableLanguageModel(countingModel(calls), controller.signal);
    expect(lm.startBeams).toBeDefined();
    const beams = lm.startBeams!();
    await expect(beams.feed([[1]])).resolves.toHaveLength(1);
    beams.reorder([0, 0]);
    controller.abort();
    await expect(beams.feed([[2], [2]])).rejects.toMatchObject({ name: 'AbortError' });
    beams.dispose();
    expect(calls).toEqual(['beams:feed:1', 'beams:reorder:0,0', 'beams:dispose:1']);
  });

  it('has no startBeams when the model has none, and returns the model itself without a signal', async () => {
    const { startBeams: _unused, ...plain } = countingModel([]);
    const lm = abortableLanguageModel(plain, new AbortController().signal);
    expect(lm.startBeams).toBeUndefined();
    await expect(lm.start(2).feed([[0], [1]])).resolves.toHaveLength(2);
    expect(abortableLanguageModel(plain)).toBe(plain);
  });
});
