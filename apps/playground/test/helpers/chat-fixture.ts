// Chat checkpoints for the chat tests: copies of the fixture checkpoints with the chat template `gptlab-train
// sft` saves by default (apps/trainer/src/align/template.ts, restated here: the playground does not depend on the
// trainer) in tokenizer_config.json. A turn is "role:\ncontent<|endoftext|>", so a reply ends at the eos token.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const SFT_CHAT_TEMPLATE =
  "{% for message in messages %}{{ message['role'] + ':\\n' + message['content'] + eos_token }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ 'assistant:\\n' }}{% endif %}";

export const FIXTURES = path.join(__dirname, '..', 'fixtures');

/** Copies fixture checkpoint `fixture` ('tiny' or 'demo') to `dest`, with the chat template added. */
export function copyChatCheckpoint(fixture: string, dest: string): string {
  fs.cpSync(path.join(FIXTURES, fixture), dest, { recursive: true });
  fs.writeFileSync(
    path.join(dest, 'tokenizer_config.json'),
    JSON.stringify({ chat_template: SFT_CHAT_TEMPLATE, bos_token: '<|endoftext|>', eos_token: '<|endoftext|>' }),
  );
  return dest;
}

/** The text the template renders for `messages` plus the generation prompt, written out by hand. */
export function renderedByHand(messages: { role: string; content: string }[]): string {
  return messages.map((m) => `${m.role}:\n${m.content}<|endoftext|>`).join('') + 'assistant:\n';
}
