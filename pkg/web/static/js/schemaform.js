// A form generated from a JSON Schema (a tool's input schema): objects as
// fieldsets, arrays as lists with add and remove, enums as selects,
// required fields marked, descriptions as hints. field() returns the
// element and a get() that reads the value back (undefined: left empty).

import { h } from './dom.js';

let seq = 0;
const nextID = () => 'sf-' + (++seq);

export function field(schema, label, required) {
  schema = schema || {};
  const type = Array.isArray(schema.type) ? schema.type.find((t) => t !== 'null') : schema.type;
  if (schema.enum) return enumField(schema, label, required);
  if (type === 'object' || schema.properties) return objectField(schema, label, required);
  if (type === 'array') return arrayField(schema, label, required);
  if (type === 'boolean') return boolField(schema, label);
  if (type === 'number' || type === 'integer') return numberField(schema, type, label, required);
  if (type === 'string') return stringField(schema, label, required);
  return jsonField(schema, label, required);
}

function labelled(id, label, required, schema, input) {
  const hintID = schema.description ? id + '-hint' : null;
  if (hintID) input.setAttribute('aria-describedby', hintID);
  if (required) input.required = true;
  return h('div', { class: 'sf-field' },
    label === null ? null : h('label', { for: id }, label, required ? h('span', { class: 'req', 'aria-hidden': 'true' }, ' *') : null),
    input,
    hintID ? h('p', { class: 'hint', id: hintID }, schema.description) : null);
}

function stringField(schema, label, required) {
  const id = nextID();
  const long = (schema.maxLength || 0) > 200 || /text|body|content|csv|json/i.test(label || '');
  const input = long ? h('textarea', { id, rows: 4 }) : h('input', { id, type: schema.format === 'uri' ? 'url' : 'text' });
  if (schema.default !== undefined) input.value = String(schema.default);
  if (schema.maxLength) input.maxLength = schema.maxLength;
  return { el: labelled(id, label, required, schema, input), get: () => (input.value === '' && !required ? undefined : input.value) };
}

function numberField(schema, type, label, required) {
  const id = nextID();
  const input = h('input', { id, type: 'number', step: type === 'integer' ? '1' : 'any', min: schema.minimum, max: schema.maximum });
  if (schema.default !== undefined) input.value = String(schema.default);
  return { el: labelled(id, label, required, schema, input), get: () => (input.value === '' ? undefined : Number(input.value)) };
}

function boolField(schema, label) {
  const id = nextID();
  const input = h('input', { id, type: 'checkbox' });
  input.checked = schema.default === true;
  const el = h('div', { class: 'sf-field' }, h('label', { class: 'check', for: id }, input, ' ', label ?? 'value'),
    schema.description ? h('p', { class: 'hint' }, schema.description) : null);
  return { el, get: () => input.checked };
}

function enumField(schema, label, required) {
  const id = nextID();
  const input = h('select', { id },
    required ? null : h('option', { value: '' }, '(none)'),
    schema.enum.map((v, i) => h('option', { value: String(i), selected: v === schema.default }, typeof v === 'string' ? v : JSON.stringify(v))));
  return { el: labelled(id, label, required, schema, input), get: () => (input.value === '' ? undefined : schema.enum[Number(input.value)]) };
}

function objectField(schema, label, required) {
  const req = new Set(schema.required || []);
  const fields = Object.entries(schema.properties || {}).map(([name, s]) => [name, field(s, name, req.has(name))]);
  const body = fields.length ? fields.map(([, f]) => f.el) : [h('p', { class: 'hint' }, 'No arguments.')];
  const el = label === null
    ? h('div', { class: 'sf-object' }, schema.description ? h('p', { class: 'hint' }, schema.description) : null, body)
    : h('fieldset', { class: 'sf-object' }, h('legend', {}, label, required ? ' *' : ''),
      schema.description ? h('p', { class: 'hint' }, schema.description) : null, body);
  return {
    el,
    get: () => {
      const out = {};
      for (const [name, f] of fields) {
        const v = f.get();
        if (v !== undefined) out[name] = v;
      }
      return Object.keys(out).length || required || label === null ? out : undefined;
    },
  };
}

function arrayField(schema, label, required) {
  const items = [];
  const list = h('ol', { class: 'sf-array' });
  const add = h('button', { type: 'button', class: 'small' }, 'Add ' + (label || 'item'));
  const addItem = () => {
    const f = field(schema.items, `${label || 'item'} ${items.length + 1}`, true);
    const li = h('li', {}, f.el);
    const entry = { f, li };
    li.append(h('button', { type: 'button', class: 'small', onclick: () => {
      items.splice(items.indexOf(entry), 1);
      li.remove();
      add.focus();
    } }, 'Remove'));
    items.push(entry);
    list.append(li);
    li.querySelector('input, select, textarea')?.focus();
  };
  add.addEventListener('click', addItem);
  const el = h('fieldset', { class: 'sf-array-wrap' }, h('legend', {}, label, required ? ' *' : ''),
    schema.description ? h('p', { class: 'hint' }, schema.description) : null, list, add);
  return { el, get: () => (items.length || required ? items.map((e) => e.f.get()) : undefined) };
}

function jsonField(schema, label, required) {
  const id = nextID();
  const input = h('textarea', { id, rows: 3, spellcheck: 'false', placeholder: 'JSON' });
  return {
    el: labelled(id, (label ?? 'value') + ' (JSON)', required, schema, input),
    get: () => {
      if (input.value.trim() === '') return undefined;
      try { return JSON.parse(input.value); } catch { throw new Error(`${label}: not valid JSON`); }
    },
  };
}
