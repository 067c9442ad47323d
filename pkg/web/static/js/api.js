// The JSON user API, called with the session cookie (sent by the browser)
// and the session's CSRF token (from the page) on every change.

const csrf = document.querySelector('meta[name="kiln-csrf"]')?.content ?? '';

// APIError carries the API's answer: status, message and its fields
// (limit, plan, required_tier, ...).
export class APIError extends Error {
  constructor(status, body) {
    super(body?.error || `The request failed (HTTP ${status}).`);
    this.status = status;
    this.body = body || {};
  }
}

export async function api(method, path, body) {
  const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
  if (method !== 'GET') opts.headers['X-CSRF-Token'] = csrf;
  if (body !== undefined) {
    opts.headers['Content-Type'] = 'application/json';
    opts.body = JSON.stringify(body);
  }
  let resp;
  try {
    resp = await fetch('/api/v1' + path, opts);
  } catch {
    throw new APIError(0, { error: 'Kiln could not be reached; check your connection and try again.' });
  }
  if (resp.status === 401) {
    location.assign('/oauth/login?next=' + encodeURIComponent(location.pathname + location.search));
  }
  if (resp.status === 204) return null;
  const data = await resp.json().catch(() => null);
  if (!resp.ok) throw new APIError(resp.status, data);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const put = (path, body) => api('PUT', path, body ?? {});
export const del = (path) => api('DELETE', path);
