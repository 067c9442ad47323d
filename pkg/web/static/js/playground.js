// The playground: call a server's tool the way an MCP client does, with
// a key of the server, from a form generated from the tool's input schema
// (or raw JSON), and see the result and what the call cost.
import { get, post } from './api.js';
import { h, fill, say, errorText } from './dom.js';
import { field } from './schemaform.js';
import { rpc } from './mcp.js';
import { outcomeText } from './executions.js';

let ctx; // { server, url, key, tools, form }

export async function start(data) {
  ctx = { server: data.server, url: data.mcpUrl, key: sessionStorage.getItem('kiln.key.' + data.server) || '' };
  document.getElementById('back').href = '/servers/' + encodeURIComponent(ctx.server);
  const keyInput = document.getElementById('pg-key');
  keyInput.value = ctx.key;
  document.getElementById('key-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    useKey(keyInput.value.trim());
  });
  document.getElementById('pg-new-key').addEventListener('click', newKey);
  document.getElementById('pg-raw').addEventListener('change', toggleRaw);
  document.getElementById('run-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    run();
  });
  document.getElementById('pg-tool').addEventListener('change', showTool);
  if (ctx.key) await useKey(ctx.key);
}

async function newKey() {
  try {
    const k = await post('/servers/' + encodeURIComponent(ctx.server) + '/keys', { name: 'playground' });
    document.getElementById('pg-key').value = k.key;
    say('Created a key named "playground" for this server. It stays in this browser tab only; revoke it on the server page when done.');
    await useKey(k.key);
  } catch (err) { say(errorText(err), 'error'); }
}

async function useKey(key) {
  if (!key) return;
  try {
    const res = await rpc(ctx.url, key, 'tools/list');
    ctx.key = key;
    sessionStorage.setItem('kiln.key.' + ctx.server, key);
    ctx.tools = res.tools || [];
  } catch (err) {
    say(err.message, 'error');
    return;
  }
  const select = document.getElementById('pg-tool');
  const want = new URLSearchParams(location.search).get('tool');
  select.replaceChildren(...ctx.tools.map((t) => h('option', { value: t.name, selected: t.name === want }, t.name)));
  document.getElementById('run-section').hidden = !ctx.tools.length;
  if (!ctx.tools.length) say('This server has no tools yet: add one first.', 'error');
  else showTool();
}

function currentTool() {
  return ctx.tools.find((t) => t.name === document.getElementById('pg-tool').value);
}

function showTool() {
  const t = currentTool();
  document.getElementById('pg-description').textContent = t.description || '';
  ctx.form = field(t.inputSchema || { type: 'object' }, null, true);
  fill(document.getElementById('pg-args'), ctx.form.el);
  document.getElementById('pg-json').value = JSON.stringify(safeGet() ?? {}, null, 2);
}

function safeGet() {
  try { return ctx.form.get(); } catch { return {}; }
}

function toggleRaw(ev) {
  const raw = ev.target.checked;
  const json = document.getElementById('pg-json');
  if (raw) json.value = JSON.stringify(safeGet() ?? {}, null, 2);
  document.getElementById('pg-args').hidden = raw;
  document.getElementById('pg-json-wrap').hidden = !raw;
  (raw ? json : document.querySelector('#pg-args input, #pg-args select, #pg-args textarea'))?.focus();
}

function readArgs() {
  if (document.getElementById('pg-raw').checked) {
    try { return JSON.parse(document.getElementById('pg-json').value || '{}'); } catch (e) { throw new Error('The arguments are not valid JSON: ' + e.message); }
  }
  return ctx.form.get() ?? {};
}

async function run() {
  const t = currentTool();
  const out = document.getElementById('pg-result');
  const button = document.querySelector('#run-form button[type="submit"]');
  let args;
  try { args = readArgs(); } catch (err) { say(err.message, 'error'); return; }
  button.disabled = true;
  out.setAttribute('aria-busy', 'true');
  try {
    const res = await rpc(ctx.url, ctx.key, 'tools/call', { name: t.name, arguments: args });
    fill(out, ...resultViews(res), await costs(t.name));
    say(res.isError ? `${t.name} reported an error.` : `${t.name} finished.`, res.isError ? 'error' : 'ok');
  } catch (err) {
    fill(out, h('p', { class: 'error' }, err.message));
    say(err.message, 'error');
  } finally {
    button.disabled = false;
  }
}

function resultViews(res) {
  const text = (res.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
  return [
    h('h3', {}, res.isError ? 'Error' : 'Result'),
    h('pre', { id: 'pg-text', class: res.isError ? 'error' : '' }, text || '(no text)'),
    res.structuredContent !== undefined ? [h('h3', {}, 'Structured content'), h('pre', { id: 'pg-structured' }, JSON.stringify(res.structuredContent, null, 2))] : null,
    h('details', {}, h('summary', {}, 'Raw JSON-RPC result'), h('pre', {}, JSON.stringify(res, null, 2))),
  ];
}

// costs reads the call's row of the execution log (owners may read it).
async function costs(tool) {
  try {
    const { items } = await get(`/executions?server=${encodeURIComponent(ctx.server)}&tool=${encodeURIComponent(tool)}&limit=1`);
    const e = items[0];
    if (!e) return null;
    return h('dl', { class: 'costs', id: 'pg-costs' },
      h('dt', {}, 'Outcome'), h('dd', {}, outcomeText(e.outcome)),
      h('dt', {}, 'Fuel used'), h('dd', {}, e.fuel_used.toLocaleString() + ' units'),
      h('dt', {}, 'Peak memory'), h('dd', {}, (e.memory_peak / 1048576).toFixed(1) + ' MiB'),
      h('dt', {}, 'Time'), h('dd', {}, e.duration_ms.toFixed(1) + ' ms'));
  } catch (err) {
    return h('p', { class: 'hint' }, 'Costs: ' + errorText(err));
  }
}
