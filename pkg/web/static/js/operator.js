// The operator page: customers and their plans, library uploads and the
// audit log, through the operator API. A signed-in operator account calls
// it with its session cookie and CSRF token, like the user API. Anyone
// else pastes the operator token once; it is kept in this tab's
// sessionStorage only and goes to /api/v1/admin as Authorization: Bearer,
// never in a cookie or a URL, so no other site's request carries it and
// closing the tab forgets it.
import { h, fill, say, table, when, busy } from './dom.js';

const tokenKey = 'kiln-operator-token';
// account: the page is signed in as an operator account (body[data-operator]).
const account = document.body.dataset.operator === 'true';
const csrf = document.querySelector('meta[name="kiln-csrf"]')?.content ?? '';
let plans = [];

// credentials adds the page's credential to a request's options.
function credentials(method, opts) {
  if (account) {
    opts.credentials = 'same-origin';
    if (method !== 'GET') opts.headers['X-CSRF-Token'] = csrf;
  } else {
    opts.credentials = 'omit';
    opts.headers.Authorization = 'Bearer ' + sessionStorage.getItem(tokenKey);
  }
}

// OperatorError is the admin API's answer to a failed request.
class OperatorError extends Error {
  constructor(status, body) {
    super(body?.error || `The request failed (HTTP ${status}).`);
    this.status = status;
  }
}

async function admin(method, path, body) {
  const headers = { Accept: 'application/json' };
  const opts = { method, headers };
  credentials(method, opts);
  if (body instanceof FormData) opts.body = body;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch('/api/v1/admin' + path, opts);
  } catch {
    throw new OperatorError(0, { error: 'Kiln could not be reached; check your connection and try again.' });
  }
  const data = resp.status === 204 ? null : await resp.json().catch(() => null);
  if (resp.status === 401 && account) {
    location.assign('/oauth/login?next=' + encodeURIComponent('/operator'));
  } else if (resp.status === 401) {
    signOut();
    throw new OperatorError(401, { error: 'Kiln refused the operator token: paste the value of KILN_OPERATOR_TOKEN of this instance.' });
  }
  if (!resp.ok) throw new OperatorError(resp.status, data);
  return data;
}

export async function start() {
  bindForms();
  if (account) {
    await open();
    return;
  }
  const form = document.getElementById('token-form');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, () => signIn(form));
  });
  document.getElementById('forget-token').addEventListener('click', () => {
    signOut();
    say('The operator token is forgotten in this tab.');
  });
  if (sessionStorage.getItem(tokenKey)) await open().catch((err) => say(err.message, 'error'));
}

async function signIn(form) {
  const input = form.querySelector('#op-token');
  sessionStorage.setItem(tokenKey, input.value.trim());
  input.value = '';
  try {
    await open();
    say('Signed in as the operator.');
  } catch (err) {
    say(err.message, 'error');
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

function signOut() {
  sessionStorage.removeItem(tokenKey);
  document.getElementById('operator').hidden = true;
  document.getElementById('token-state').hidden = true;
  document.getElementById('token-form').hidden = false;
}

// open checks the token by loading the page's data, and shows it.
async function open() {
  const [planList, customers] = await Promise.all([admin('GET', '/plans'), admin('GET', '/customers')]);
  plans = planList.items;
  if (!account) {
    document.getElementById('op-token').removeAttribute('aria-invalid');
    document.getElementById('token-form').hidden = true;
    document.getElementById('token-state').hidden = false;
  }
  document.getElementById('operator').hidden = false;
  document.getElementById('up-tier').replaceChildren(...plans.map((p) => h('option', { value: p.name }, p.name)));
  showCustomers(customers.items);
  await loadAudit();
}

function bindForms() {
  const upload = document.getElementById('upload-form');
  upload.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(upload, () => uploadModule(upload));
  });
  const audit = document.getElementById('audit-form');
  audit.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(audit, () => loadAudit());
  });
}

async function loadCustomers() {
  try {
    showCustomers((await admin('GET', '/customers')).items);
  } catch (err) {
    fill(document.getElementById('customer-list'), h('p', { class: 'error' }, err.message));
  }
}

function showCustomers(items) {
  const list = document.getElementById('customer-list');
  if (!items.length) {
    fill(list, h('p', {}, 'No customers yet.'));
    return;
  }
  fill(list, table('Customers', ['Name', 'ID', 'Plan', 'Created'], items.map((c) => h('tr', { dataset: { customer: c.id } },
    h('td', {}, c.name),
    h('td', {}, h('code', {}, c.id)),
    h('td', {}, planForm(c)),
    h('td', {}, when(c.created_at))))));
}

// planForm changes a customer's plan (PUT …/customers/{id}/tier).
function planForm(c) {
  const id = `plan-${c.id}`;
  const select = h('select', { id, name: 'tier' },
    plans.map((p) => h('option', { value: p.name, selected: p.name === c.tier }, p.name)));
  const form = h('form', { class: 'inline' },
    h('label', { for: id, class: 'visually-hidden' }, `Plan of ${c.name}`), select,
    h('button', { type: 'submit', class: 'small', 'aria-label': `Change the plan of ${c.name}` }, 'Change'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    busy(form, () => setPlan(c, select.value));
  });
  return form;
}

async function setPlan(c, tier) {
  if (tier === c.tier) {
    say(`${c.name} is already on the ${tier} plan.`);
    return;
  }
  try {
    await admin('PUT', `/customers/${encodeURIComponent(c.id)}/tier`, { tier });
    // The lists first, then the message: once it is read, they are current.
    await Promise.all([loadCustomers(), loadAudit()]);
    say(`${c.name} moved from the ${c.tier} plan to the ${tier} plan.`);
  } catch (err) {
    say(err.message, 'error');
  }
}

async function uploadModule(form) {
  const data = new FormData(form);
  if (!data.get('description')) data.delete('description');
  try {
    const lib = await admin('POST', '/library', data);
    form.reset();
    await loadAudit();
    say(`Uploaded ${lib.name}@${lib.version}; customers on the ${lib.min_tier} plan and above can add it.`);
  } catch (err) {
    say(err.message, 'error');
  }
}

async function loadAudit() {
  const list = document.getElementById('audit-list');
  const action = document.getElementById('audit-action').value.trim();
  const query = new URLSearchParams({ limit: '50' });
  if (action) query.set('action', action);
  try {
    const { items } = await admin('GET', '/audit?' + query);
    if (!items.length) {
      fill(list, h('p', {}, action ? `No entries for ${action}.` : 'The audit log is empty.'));
      return;
    }
    fill(list, table('Audit log, newest first', ['When', 'Actor', 'Action', 'Target', 'Details'], items.map((e) =>
      h('tr', {},
        h('td', {}, when(e.created_at)),
        h('td', {}, e.actor),
        h('td', {}, h('code', {}, e.action)),
        h('td', {}, h('code', {}, e.target)),
        h('td', {}, e.details ? h('code', {}, JSON.stringify(e.details)) : '—')))));
  } catch (err) {
    fill(list, h('p', { class: 'error' }, err.message));
  }
}
