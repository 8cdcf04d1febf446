// The GPT-3 style few-shot prompt: task description, examples "input => output", then the query.
import { $ } from './dom.js';

export function buildTemplate() {
  const task = $('#tpl-task').value.trim();
  const examples = $('#tpl-examples')
    .value.split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const i = l.indexOf('=>');
      return i < 0 ? [l, ''] : [l.slice(0, i).trim(), l.slice(i + 2).trim()];
    });
  const shots = $('#tpl-shots').value;
  const used = shots === 'all' ? examples : examples.slice(0, Number(shots));
  const lines = [];
  if (task) lines.push(task, '');
  for (const [i, o] of used) lines.push(`${i} => ${o}`);
  lines.push(`${$('#tpl-query').value.trim()} =>`);
  return lines.join('\n');
}
