// One wizard session: review the proposal, follow generation live (the
// stream resumes after a dropped connection from the last event seen),
// fix a tool's source at the lines the compiler names, deploy.
import { get, post, put } from './api.js';
import { h, fill, say, errorText, busy } from './dom.js';
import { field } from './schemaform.js';

let id;
let sess;
let lastSeq = 0;
let streaming = false;
let shownProposal = -1;
const base = () => '/wizard/sessions/' + encodeURIComponent(id);
const busyStates = new Set(['proposing', 'generating']);

export async function start(data) {
  id = data.session;
  document.getElementById('wz-accept').addEventListener('click', accept);
  const form = document.getElementById('wz-deploy-form');
  form.addEventListener('submit', (ev) => { ev.preventDefault(); busy(form, deploy); });
  loadServers();
  await refresh();
  stream();
}

async function loadServers() {
  try {
    const { items } = await get('/servers');
    document.getElementById('wz-server').append(...items.map((s) => h('option', { value: s.id }, s.name)));
  } catch { /* the new-server choice still works */ }
}

async function refresh() {
  try {
    sess = await get(base());
  } catch (err) {
    say(errorText(err), 'error');
    return;
  }
  render();
}

function render() {
  document.getElementById('wz-description').textContent = sess.description;
  document.getElementById('wz-state').textContent = sess.state;
  const err = document.getElementById('wz-error');
  err.hidden = !sess.error;
  err.textContent = sess.error || '';
  const proposal = document.getElementById('wz-proposal');
  proposal.hidden = sess.state !== 'proposed';
  if (!proposal.hidden && shownProposal !== sess.version) {
    shownProposal = sess.version;
    fill(document.getElementById('wz-specs'), ...sess.proposal.tools.map(specEditor));
  }
  const tools = document.getElementById('wz-tools');
  tools.hidden = !sess.tools?.length;
  if (!tools.hidden) renderTools();
  document.getElementById('wz-deploy').hidden = !['ready', 'deployed'].includes(sess.state);
}

// specEditor edits one proposed tool; its get() is the edited spec, or
// null when left out.
function specEditor(spec, i) {
  const p = 'spec-' + i;
  const include = h('input', { type: 'checkbox', id: p + '-on', checked: true });
  const name = h('input', { id: p + '-name', value: spec.name, required: true, pattern: '[a-z][a-z0-9_]{0,63}' });
  const desc = h('textarea', { id: p + '-desc', rows: 2 }, spec.description);
  const schema = h('textarea', { id: p + '-schema', rows: 8, spellcheck: 'false', class: 'code' }, JSON.stringify(spec.input_schema, null, 2));
  const preview = h('div', { class: 'preview', 'aria-label': 'Preview of the arguments form' });
  const showPreview = () => {
    try {
      fill(preview, field(JSON.parse(schema.value), null, true).el);
      schema.removeAttribute('aria-invalid');
    } catch (e) {
      fill(preview, h('p', { class: 'error' }, 'The schema is not valid JSON: ' + e.message));
      schema.setAttribute('aria-invalid', 'true');
    }
  };
  schema.addEventListener('input', showPreview);
  showPreview();
  const el = h('fieldset', { class: 'card spec', dataset: { spec: String(i) } },
    h('legend', {}, spec.name),
    h('label', { class: 'check', for: p + '-on' }, include, ' Include this tool'),
    h('div', { class: 'stack' },
      h('label', { for: p + '-name' }, 'Name'), name,
      h('label', { for: p + '-desc' }, 'Description'), desc,
      h('label', { for: p + '-schema' }, 'Input schema (JSON Schema)'), schema),
    h('h3', {}, 'Arguments form preview'), preview);
  el.spec = () => (include.checked ? { ...spec, name: name.value.trim(), description: desc.value.trim(), input_schema: JSON.parse(schema.value) } : null);
  return el;
}

async function accept() {
  let tools;
  try {
    tools = [...document.querySelectorAll('#wz-specs fieldset.spec')].map((el) => el.spec()).filter(Boolean);
  } catch (e) {
    say('A schema is not valid JSON: ' + e.message, 'error');
    return;
  }
  try {
    sess = await post(base() + '/accept', { version: sess.version, tools });
    sess = await post(base() + '/generate', { version: sess.version });
    render();
    stream();
  } catch (err) { say(errorText(err), 'error'); await refresh(); }
}

// rendered keeps each tool's card with what it was drawn from: a refresh
// redraws only the tools that changed, so an edit in progress (and the
// cursor) in another tool's editor, or in an unchanged one, survives.
const rendered = new Map();

function renderTools() {
  const list = document.getElementById('wz-tool-list');
  const cards = sess.tools.map((t) => {
    const key = JSON.stringify([t.status, t.round, t.error, t.files, t.problems, t.build_output, busyStates.has(sess.state)]);
    const had = rendered.get(t.name);
    if (had && had.key === key) return had.el;
    const el = h('article', { class: 'card tool', dataset: { tool: t.name } },
      h('h3', {}, t.name, ' ', h('span', { class: 'badge ' + statusClass(t.status) }, t.status), t.round ? h('span', { class: 'hint' }, ` round ${t.round}`) : null),
      h('p', {}, t.description),
      t.error ? h('p', { class: 'error' }, t.error) : null,
      busyStates.has(sess.state) ? null : sourceEditor(t));
    rendered.set(t.name, { key, el });
    return el;
  });
  if (cards.some((el, i) => list.children[i] !== el) || list.children.length !== cards.length) list.replaceChildren(...cards);
}

function statusClass(s) {
  return s === 'passed' ? 'ok' : s === 'failed' ? 'bad' : '';
}

// sourceEditor shows each file with its problems at their lines; a
// problem is a button that puts the cursor on its line.
function sourceEditor(t) {
  const files = t.files || {};
  const names = Object.keys(files);
  if (!names.length) return null;
  const areas = {};
  const problems = (t.problems || []);
  const parts = names.map((file) => {
    const fid = `src-${t.name}-${file}`.replace(/[^a-zA-Z0-9_-]/g, '-');
    const area = h('textarea', { id: fid, rows: Math.min(30, files[file].split('\n').length + 1), spellcheck: 'false', class: 'code', wrap: 'off' }, files[file]);
    areas[file] = area;
    const mine = problems.filter((p) => !p.file || p.file === file);
    return h('div', { class: 'file' },
      h('label', { for: fid }, file),
      mine.length ? h('ul', { class: 'problems', 'aria-label': `Problems in ${file}` }, mine.map((p) => h('li', {},
        h('button', { type: 'button', class: 'link', onclick: () => goToLine(area, p.line, p.column) },
          `${file}:${p.line || '?'}${p.column ? ':' + p.column : ''}`), ' ', p.message))) : null,
      area);
  });
  const output = t.build_output ? h('details', {}, h('summary', {}, 'Compiler output'), h('pre', {}, t.build_output)) : null;
  const save = h('button', { type: 'button', class: 'primary', onclick: () => saveSource(t, areas, save) }, `Save and rebuild ${t.name}`);
  return h('div', { class: 'editor' }, ...parts, output, save);
}

function goToLine(area, line, column) {
  const lines = area.value.split('\n');
  const at = lines.slice(0, Math.max(0, (line || 1) - 1)).reduce((n, l) => n + l.length + 1, 0) + Math.max(0, (column || 1) - 1);
  area.focus();
  area.setSelectionRange(at, at + Math.max(1, (lines[(line || 1) - 1] || '').length - (column || 1) + 1));
  area.scrollTop = Math.max(0, (line - 3) * 20);
}

async function saveSource(t, areas, button) {
  const files = Object.fromEntries(Object.entries(areas).map(([f, a]) => [f, a.value]));
  button.disabled = true;
  try {
    sess = await put(base() + '/tools/' + encodeURIComponent(t.name) + '/source', { version: sess.version, files });
    render();
    stream();
  } catch (err) { say(errorText(err), 'error'); } finally { button.disabled = false; }
}

async function deploy() {
  const serverID = document.getElementById('wz-server').value;
  const body = { version: sess.version };
  if (serverID) body.server_id = serverID; else body.server_name = document.getElementById('wz-server-name').value.trim();
  try {
    const d = await post(base() + '/deploy', body);
    sess = d.session;
    render();
    fill(document.getElementById('wz-deployed'), h('p', {}, `Deployed ${d.tools.join(', ')} to `,
      h('a', { href: '/servers/' + encodeURIComponent(d.server.id) }, d.server.name), '.'));
    say('Deployed.');
  } catch (err) { say(errorText(err), 'error'); }
}

// stream follows the session's events until it rests; a dropped stream
// reconnects from the last event seen (Last-Event-ID), waiting longer
// after each failure (1 s, 2 s, … 10 s).
async function stream() {
  if (streaming) return;
  streaming = true;
  const status = document.getElementById('wz-stream');
  let wait = 1000;
  try {
    for (;;) {
      status.textContent = 'live';
      const ended = await readStream().catch(() => false);
      if (ended) break;
      status.textContent = `connection lost; reconnecting in ${wait / 1000} s…`;
      await new Promise((r) => setTimeout(r, wait));
      wait = Math.min(wait * 2, 10000);
    }
  } finally {
    streaming = false;
    status.textContent = '';
  }
  await refresh();
}

// readStream reads the event stream once; true when it ended normally.
async function readStream() {
  const resp = await fetch('/api/v1' + base() + '/events', {
    credentials: 'same-origin', headers: { Accept: 'text/event-stream', 'Last-Event-ID': String(lastSeq) },
  });
  if (!resp.ok) throw new Error('HTTP ' + resp.status);
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return false;
    buf += value;
    let cut;
    while ((cut = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, cut);
      buf = buf.slice(cut + 2);
      if (onEvent(block)) return true;
    }
  }
}

let refreshTimer;
function onEvent(block) {
  const ev = { id: null, kind: 'message', data: '' };
  for (const line of block.split('\n')) {
    if (line.startsWith('id:')) ev.id = Number(line.slice(3).trim());
    else if (line.startsWith('event:')) ev.kind = line.slice(6).trim();
    else if (line.startsWith('data:')) ev.data += line.slice(5).trim();
  }
  if (ev.kind === 'end') return true;
  if (ev.id !== null) lastSeq = ev.id;
  let d = {};
  try { d = JSON.parse(ev.data); } catch { /* keep the line */ }
  const data = d.data || {};
  const what = [d.tool, ev.kind, data.state || data.status, data.message || data.error].filter(Boolean).join(' · ');
  document.getElementById('wz-log').append(h('li', {}, what));
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, 200);
  return false;
}

