// A minimal MCP client over Streamable HTTP (Kiln's endpoints are
// stateless): one JSON-RPC request per POST, the answer as JSON or as a
// server-sent event stream.

let nextID = 1;

export async function rpc(url, key, method, params) {
  const id = nextID++;
  let resp;
  try {
    resp = await fetch(url, {
      method: 'POST',
      credentials: 'omit',
      headers: {
        Authorization: 'Bearer ' + key,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id, method, params: params || {} }),
    });
  } catch {
    throw new Error('Kiln could not be reached; check your connection and try again.');
  }
  const text = await resp.text();
  if (resp.status === 401) throw new Error('The key was refused: it is not a key of this server, or it was revoked. Create a new one.');
  if (!resp.ok) throw new Error(errorOf(text) || `The MCP endpoint answered HTTP ${resp.status}.`);
  const msg = (resp.headers.get('Content-Type') || '').includes('text/event-stream') ? fromStream(text, id) : JSON.parse(text);
  if (!msg) throw new Error('The MCP endpoint sent no answer.');
  if (msg.error) throw new Error(msg.error.message);
  return msg.result;
}

function errorOf(text) {
  try {
    const m = JSON.parse(text);
    return m.error?.message || m.error;
  } catch { return text.trim().slice(0, 300); }
}

// fromStream finds the answer to id among the stream's events.
function fromStream(text, id) {
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
    if (!data) continue;
    const msg = JSON.parse(data);
    if (msg.id === id) return msg;
  }
  return null;
}
