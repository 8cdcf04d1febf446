// Small DOM helpers shared by the UI modules.

export const $ = (sel) => document.querySelector(sel);

/** document.createElement with attributes ('class', 'text', 'on<event>' or plain) and children. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

export function setStatus(text, isError = false) {
  const s = $('#status');
  s.textContent = text;
  s.classList.toggle('error', isError);
}

/** Control characters as their Unicode pictures (␂). */
export function showControls(text) {
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) =>
    String.fromCharCode(c === '\u007f' ? 0x2421 : 0x2400 + c.charCodeAt(0)),
  );
}

/** Token text as shown in the output: control pictures, newlines as ↵ plus the break. */
export function visible(text) {
  return showControls(text).replace(/\n/g, '↵\n');
}
