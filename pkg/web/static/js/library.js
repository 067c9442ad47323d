// The library: what the plan allows, what needs an upgrade, and adding a
// tool to a server in one click.
import { get, post } from './api.js';
import { h, fill, say, errorText } from './dom.js';

let servers = [];

export async function start() {
  const select = document.getElementById('target-server');
  const want = new URLSearchParams(location.search).get('server');
  try {
    const [srv, account] = await Promise.all([get('/servers'), get('/account')]);
    servers = srv.items;
    fill(document.getElementById('plan'), `Your account is on the ${account.plan.name} plan.`);
    select.replaceChildren(...(servers.length
      ? servers.map((s) => h('option', { value: s.id, selected: s.id === want }, s.name))
      : [h('option', { value: '' }, 'No servers yet: create one first')]));
  } catch (err) {
    say(errorText(err), 'error');
  }
  await Promise.all([load(), devLibrary()]);
}

// devLibrary shows how far a development node got building the curated
// library of its source checkout, following it until it ends; the
// catalogue is reloaded when it does.
async function devLibrary() {
  let st;
  try {
    st = await get('/library/dev');
  } catch {
    return; // the catalogue says what went wrong
  }
  const section = document.getElementById('dev-library');
  section.dataset.state = st.state;
  const running = st.state === 'building';
  const show = running || ['failed', 'stopped', 'absent'].includes(st.state);
  section.hidden = !show;
  if (show) fill(document.getElementById('dev-library-body'), ...devLibraryView(st));
  if (running) {
    setTimeout(() => devLibrary().then(() => {
      if (section.dataset.state !== 'building') return load();
    }), 1500);
  }
}

function devLibraryView(st) {
  const out = [];
  const current = st.current ? st.modules[st.current - 1] : null;
  if (st.state === 'building') {
    out.push(h('p', { class: 'progress' }, current
      ? `Building ${st.current} of ${st.total}: ${current.name}…`
      : `Building the curated library (${st.total} modules)…`));
  }
  if (st.message) out.push(h('p', { class: st.state === 'absent' ? 'hint' : '' }, st.message));
  const failed = (st.modules || []).filter((m) => m.state === 'failed');
  if (failed.length) {
    out.push(h('ul', { class: 'problems' }, failed.map((m) => h('li', { dataset: { module: m.name } },
      h('strong', {}, m.name), ': ', m.error,
      m.output ? h('pre', {}, h('code', {}, m.output)) : null))));
  }
  return out;
}

async function load() {
  const list = document.getElementById('library-list');
  try {
    const { items } = await get('/library');
    if (!items.length) {
      fill(list, h('p', {}, 'The library is empty. An operator uploads signed modules with kiln library push.'));
      return;
    }
    fill(list, h('ul', { class: 'cards' }, items.map(moduleCard)));
  } catch (err) {
    fill(list, h('p', { class: 'error' }, errorText(err)));
  }
}

function moduleCard(m) {
  const head = h('h2', { id: `lib-${m.name}` }, m.name, h('span', { class: 'hint' }, ' ' + m.version));
  const status = m.available
    ? h('span', { class: 'badge ok' }, 'Included in your plan')
    : h('span', { class: 'badge upgrade' }, `Needs the ${m.min_tier} plan — upgrade to use it`);
  return h('li', { class: 'card', 'aria-labelledby': `lib-${m.name}`, dataset: { module: m.name, available: String(m.available) } },
    head, h('p', {}, m.description), status,
    h('ul', { class: 'tools' }, m.tools.map((t) => h('li', {},
      h('code', {}, t.name), ' — ', t.description, ' ',
      m.available
        ? h('button', { type: 'button', class: 'small primary', 'aria-label': `Add to server: ${t.name} from ${m.name}`,
          onclick: (ev) => add(m, t, ev.currentTarget) }, 'Add to server')
        : null))));
}

async function add(m, t, button) {
  const serverID = document.getElementById('target-server').value;
  if (!serverID) {
    say('Create a server first, on the Servers page.', 'error');
    return;
  }
  button.disabled = true;
  try {
    await post('/servers/' + encodeURIComponent(serverID) + '/tools', { library: { name: m.name, version: m.version }, tool: t.name });
    const name = servers.find((s) => s.id === serverID)?.name ?? serverID;
    say(`Added ${t.name} to ${name}.`);
    fill(document.getElementById('status'), `Added ${t.name} to `, h('a', { href: '/servers/' + encodeURIComponent(serverID) }, name), '.');
  } catch (err) {
    say(errorText(err), 'error');
  } finally {
    button.disabled = false;
  }
}
