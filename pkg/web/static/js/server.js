// One server: Connect, tools, env vars and secrets, API keys, deletion.
import { get, post, put, del } from './api.js';
import { h, fill, say, errorText, table, when, busy, copyButtons } from './dom.js';
import { render as renderConnect } from './connect.js';

let server; // the server's id, name and MCP URL
const base = () => '/servers/' + encodeURIComponent(server.id);

export async function start(data) {
  server = { id: data.server, url: data.mcpUrl, name: data.server };
  document.getElementById('mcp-url').textContent = server.url;
  document.getElementById('add-library-link').href = '/library?server=' + encodeURIComponent(server.id);
  try {
    const srv = await get(base());
    server.name = srv.name;
    document.getElementById('server-name').textContent = srv.name;
    document.getElementById('server-description').textContent = srv.description;
    document.title = srv.name + ' · Kiln';
  } catch (err) {
    say(errorText(err), 'error');
    return;
  }
  renderConnect(document.getElementById('connect-tabs'), server.url, server.name, null);
  copyButtons();
  bindForms();
  await Promise.all([loadTools(), loadEnv(), loadKeys()]);
}

function bindForms() {
  const on = (id, fn) => {
    const form = document.getElementById(id);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      busy(form, () => fn(form).catch((err) => say(errorText(err), 'error')));
    });
  };
  on('declare-env', declareEnv);
  on('create-key', createKey);
  document.getElementById('delete-server').addEventListener('click', deleteServer);
}

async function loadTools() {
  const list = document.getElementById('tool-list');
  try {
    const { items } = await get(base() + '/tools');
    keyToolChoices(items.map((t) => t.name));
    if (!items.length) {
      fill(list, h('p', {}, 'No tools yet. Add one from the library, or build one with the wizard.'));
      return;
    }
    fill(list, table('Tools', ['Tool', 'Source', 'Version', 'Status', ''], items.map(toolRow)));
  } catch (err) {
    fill(list, h('p', { class: 'error' }, errorText(err)));
  }
}

function toolRow(t) {
  const c = t.current;
  const source = c.library_name ? `library ${c.library_name}@${c.library_version}` : 'Go source';
  return h('tr', {},
    h('th', { scope: 'row' }, t.name, t.name !== c.module_tool ? h('span', { class: 'hint' }, ` (${c.module_tool})`) : null),
    h('td', {}, source),
    h('td', {}, 'v' + c.version),
    h('td', {}, h('span', { class: 'badge ok' }, 'enabled')),
    h('td', {},
      h('a', { class: 'button small', href: base() + '/playground?tool=' + encodeURIComponent(t.name), 'aria-label': 'Try ' + t.name + ' in the playground' }, 'Try'), ' ',
      h('button', { type: 'button', class: 'small', onclick: () => removeTool(t), 'aria-label': 'Remove tool ' + t.name }, 'Remove')));
}

async function removeTool(t) {
  if (!confirm(`Remove the tool ${t.name} from this server? Clients will no longer see it.`)) return;
  try {
    await del(base() + '/tools/' + encodeURIComponent(t.id));
    say(`Removed ${t.name}.`);
    await loadTools();
  } catch (err) { say(errorText(err), 'error'); }
}

async function loadEnv() {
  const list = document.getElementById('env-list');
  try {
    const { items } = await get(base() + '/env');
    if (!items.length) {
      fill(list, h('p', {}, 'No variables declared.'));
      return;
    }
    fill(list, table('Environment variables', ['Name', 'Kind', 'Hosts', 'Value', ''], items.map((e) =>
      h('tr', {},
        h('th', { scope: 'row' }, h('code', {}, e.name), e.description ? h('div', { class: 'hint' }, e.description) : null),
        h('td', {}, e.secret ? 'secret' : 'plain', e.required ? ', required' : ''),
        h('td', {}, e.hosts.join(', ') || '—'),
        h('td', {}, e.has_value ? 'set (hidden)' : 'not set'),
        h('td', {}, h('button', { type: 'button', class: 'small', 'aria-label': 'Delete variable ' + e.name,
          onclick: () => deleteEnv(e.name) }, 'Delete'))))));
  } catch (err) {
    fill(list, h('p', { class: 'error' }, errorText(err)));
  }
}

async function declareEnv(form) {
  const d = new FormData(form);
  const name = d.get('name').trim();
  const hosts = d.get('hosts').split(',').map((s) => s.trim()).filter(Boolean);
  const path = base() + '/env/' + encodeURIComponent(name);
  await put(path, { description: d.get('description').trim(), secret: d.get('secret') === 'on', hosts });
  if (d.get('value')) await put(path + '/value', { value: d.get('value') });
  form.reset();
  say(`Saved ${name}.`);
  await loadEnv();
}

async function deleteEnv(name) {
  if (!confirm(`Delete the variable ${name} and its value?`)) return;
  try {
    await del(base() + '/env/' + encodeURIComponent(name));
    say(`Deleted ${name}.`);
    await loadEnv();
  } catch (err) { say(errorText(err), 'error'); }
}

// keyToolChoices offers the server's tools as checkboxes on the new-key
// form (per-tool authorization).
function keyToolChoices(names) {
  document.getElementById('key-tools').hidden = names.length === 0;
  fill(document.getElementById('key-tool-choices'), ...names.map((name, i) =>
    h('p', {}, h('input', { type: 'checkbox', name: 'tools', value: name, id: 'key-tool-' + i }),
      ' ', h('label', { for: 'key-tool-' + i }, name))));
}

async function loadKeys() {
  const list = document.getElementById('key-list');
  try {
    const { items } = await get(base() + '/keys');
    if (!items.length) {
      fill(list, h('p', {}, 'No keys yet.'));
      return;
    }
    fill(list, table('API keys', ['Name', 'Key', 'Tools', 'Created', 'Last used', 'Status', ''], items.map((k) =>
      h('tr', {},
        h('th', { scope: 'row' }, k.name || '(unnamed)'),
        h('td', {}, h('code', {}, k.prefix + '…')),
        h('td', {}, k.tools ? k.tools.join(', ') : 'all tools'),
        h('td', {}, when(k.created_at)),
        h('td', {}, when(k.last_used_at)),
        h('td', {}, k.revoked_at ? h('span', { class: 'badge' }, 'revoked') : h('span', { class: 'badge ok' }, 'active')),
        h('td', {}, k.revoked_at ? '' : h('button', { type: 'button', class: 'small', 'aria-label': 'Revoke key ' + (k.name || k.prefix),
          onclick: () => revokeKey(k) }, 'Revoke'))))));
  } catch (err) {
    fill(list, h('p', { class: 'error' }, errorText(err)));
  }
}

async function createKey(form) {
  const data = new FormData(form);
  const body = { name: data.get('name').trim() };
  const tools = data.getAll('tools');
  if (tools.length) body.tools = tools;
  const key = await post(base() + '/keys', body);
  form.reset();
  const box = document.getElementById('new-key');
  document.getElementById('new-key-value').textContent = key.key;
  box.hidden = false;
  box.focus();
  renderConnect(document.getElementById('connect-tabs'), server.url, server.name, key.key);
  copyButtons();
  await loadKeys();
}

async function revokeKey(k) {
  if (!confirm(`Revoke the key ${k.name || k.prefix}? Clients using it stop working at once.`)) return;
  try {
    await del(base() + '/keys/' + encodeURIComponent(k.id));
    say('Key revoked.');
    await loadKeys();
  } catch (err) { say(errorText(err), 'error'); }
}

async function deleteServer() {
  if (!confirm(`Delete the server ${server.name}? This cannot be undone.`)) return;
  try {
    await del(base());
    location.assign('/servers');
  } catch (err) { say(errorText(err), 'error'); }
}
