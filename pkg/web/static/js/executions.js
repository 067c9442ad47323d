// Recent tool calls, per server.
import { get } from './api.js';
import { h, fill, say, errorText, table, when } from './dom.js';

const outcomes = {
  ok: 'succeeded',
  tool_error: 'the tool reported an error',
  fuel_exhausted: 'ran out of fuel (CPU budget)',
  timeout: 'ran past its time limit',
  memory_limit: 'went over its memory limit',
  trap: 'crashed (WebAssembly trap)',
  output_too_large: 'returned more output than allowed',
  bad_module: 'could not run: the module does not fit the ABI',
  canceled: 'was canceled by the caller',
  input_required: 'stopped to ask the caller for input (elicitation, sampling or roots)',
};

export function outcomeText(o) { return outcomes[o] || o; }

export async function start() {
  const select = document.getElementById('exec-server');
  const want = new URLSearchParams(location.search).get('server') || '';
  try {
    const { items } = await get('/servers');
    select.append(...items.map((s) => h('option', { value: s.id, selected: s.id === want }, s.name)));
  } catch (err) { say(errorText(err), 'error'); }
  select.addEventListener('change', () => {
    const u = new URL(location.href);
    if (select.value) u.searchParams.set('server', select.value); else u.searchParams.delete('server');
    history.replaceState(null, '', u);
    load(select.value);
  });
  await load(want);
}

async function load(serverID) {
  const list = document.getElementById('execution-list');
  try {
    const q = serverID ? '?server=' + encodeURIComponent(serverID) : '';
    const { items } = await get('/executions' + q);
    if (!items.length) {
      fill(list, h('p', {}, 'No calls yet.'));
      return;
    }
    fill(list, table('Executions', ['When', 'Tool', 'Outcome', 'Fuel', 'Peak memory', 'Time', 'Payload'], items.map(row)));
  } catch (err) {
    fill(list, h('p', { class: 'error' }, errorText(err)));
  }
}

function row(e) {
  const payload = e.arguments || e.result
    ? h('details', {}, h('summary', {}, 'Arguments and result'),
      h('pre', {}, JSON.stringify({ arguments: e.arguments, result: e.result }, null, 2)))
    : '—';
  return h('tr', {},
    h('td', {}, when(e.started_at)),
    h('th', { scope: 'row' }, e.tool_name),
    h('td', {}, h('span', { class: 'badge ' + (e.outcome === 'ok' ? 'ok' : 'bad') }, outcomeText(e.outcome))),
    h('td', {}, e.fuel_used.toLocaleString()),
    h('td', {}, (e.memory_peak / 1048576).toFixed(1) + ' MiB'),
    h('td', {}, e.duration_ms.toFixed(1) + ' ms'),
    h('td', {}, payload));
}
