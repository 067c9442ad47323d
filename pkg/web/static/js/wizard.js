// The wizard's start: describe, and the sessions so far.
import { get, post } from './api.js';
import { h, fill, say, errorText, table, when, busy } from './dom.js';

export async function start() {
  const form = document.getElementById('describe');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, async () => {
      try {
        const s = await post('/wizard/sessions', { description: new FormData(form).get('description').trim() });
        location.assign('/wizard/' + encodeURIComponent(s.id));
      } catch (err) { say(errorText(err), 'error'); }
    });
  });
  const list = document.getElementById('session-list');
  try {
    const { items } = await get('/wizard/sessions');
    fill(list, items.length
      ? table('Wizard sessions', ['Description', 'State', 'Started'], items.map((s) => h('tr', {},
        h('td', {}, h('a', { href: '/wizard/' + encodeURIComponent(s.id) }, s.description)),
        h('td', {}, s.state), h('td', {}, when(s.created_at)))))
      : h('p', {}, 'None yet.'));
  } catch (err) {
    fill(list, h('p', { class: 'error' }, errorText(err)));
  }
}
