// A few DOM helpers. Text always goes in as text nodes, never as HTML, so
// nothing a user or a module author wrote can become markup.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// fill replaces an element's content and marks it loaded.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  el.removeAttribute('aria-busy');
}

// say announces a message in the page's live region; kind is "error" or "ok".
export function say(msg, kind = 'ok') {
  const s = document.getElementById('status');
  s.className = 'status ' + kind;
  s.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  s.textContent = msg;
}

// errorText is a sentence a person can act on, from an API error.
export function errorText(err) {
  const b = err.body || {};
  let msg = err.message;
  if (b.limit && b.plan && !/upgrade/i.test(msg)) msg += ` Upgrade from the ${b.plan} plan to raise it.`;
  return msg;
}

// table builds an accessible table with a caption.
export function table(caption, headers, rows) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      h('caption', { class: 'visually-hidden' }, caption),
      h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows)));
}

export function when(t) {
  if (!t) return '—';
  const d = new Date(t);
  return h('time', { datetime: d.toISOString() }, d.toLocaleString());
}

// busy disables a form's buttons while work runs.
export async function busy(form, work) {
  const buttons = form.querySelectorAll('button');
  buttons.forEach((b) => { b.disabled = true; });
  try { return await work(); } finally { buttons.forEach((b) => { b.disabled = false; }); }
}

// copyButtons makes every [data-copy-from] button copy its target's text.
export function copyButtons(root = document) {
  root.querySelectorAll('button[data-copy-from]').forEach((b) => {
    if (b.dataset.bound) return;
    b.dataset.bound = '1';
    b.addEventListener('click', async () => {
      const text = document.getElementById(b.dataset.copyFrom)?.textContent ?? '';
      try {
        await navigator.clipboard.writeText(text);
        say('Copied to the clipboard.');
      } catch {
        say('Select the text and copy it yourself: the browser refused the clipboard.', 'error');
      }
    });
  });
}
