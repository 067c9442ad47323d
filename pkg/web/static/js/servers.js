// The servers page: the list, and the form that creates one.
import { get, post } from './api.js';
import { h, fill, say, errorText, table, when, busy } from './dom.js';

export async function start() {
  const form = document.getElementById('create-server');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, () => create(form));
  });
  await load();
}

async function load() {
  const list = document.getElementById('server-list');
  try {
    const { items } = await get('/servers');
    if (!items.length) {
      fill(list, h('p', {}, 'No servers yet. Create one below, then add tools to it.'));
      return;
    }
    fill(list, table('Your servers', ['Name', 'Description', 'Created'], items.map((s) =>
      h('tr', {},
        h('td', {}, h('a', { href: '/servers/' + encodeURIComponent(s.id) }, s.name)),
        h('td', {}, s.description || '—'),
        h('td', {}, when(s.created_at))))));
  } catch (err) {
    fill(list, h('p', { class: 'error' }, errorText(err)));
  }
}

async function create(form) {
  const data = new FormData(form);
  try {
    const srv = await post('/servers', { name: data.get('name').trim(), description: data.get('description').trim() });
    location.assign('/servers/' + encodeURIComponent(srv.id));
  } catch (err) {
    say(errorText(err), 'error');
    form.querySelector('#srv-name').focus();
  }
}
