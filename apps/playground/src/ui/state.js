// What the UI modules share: the chosen model's card, the decoding schema and the runs on screen.
export const state = {
  /** GET /api/schema: { fields: the decoding strategy table, limits }. */
  schema: null,
  /** The chosen model's card (GET /api/models/:name). */
  model: null,
  /** Per output panel: { promptIds, promptTokens, tokens: [{token, text, logprob}], alternatives, result }. */
  runs: { a: null, b: null },
  controllers: [],
};
