// Connect: copy-paste configuration of common MCP clients for one server,
// by OAuth (the client signs in through the browser) and by API key.

import { h } from './dom.js';

const KEY = '$KILN_API_KEY';

function slug(name) {
  return (name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'kiln').slice(0, 40);
}

// clients returns [title, explanation, config] for each client; key is a
// freshly created key to fill in, or null for a placeholder.
export function clients(url, name, key) {
  const n = slug(name);
  const k = key || KEY;
  const bearer = 'Bearer ' + k;
  const json = (v) => JSON.stringify(v, null, 2);
  return [
    ['Claude Desktop', 'OAuth: Settings → Connectors → Add custom connector, and paste the URL. With an API key, add this to claude_desktop_config.json (it runs the mcp-remote bridge):',
      json({ mcpServers: { [n]: { command: 'npx', args: ['-y', 'mcp-remote', url, '--header', 'Authorization: ' + bearer] } } })],
    ['Claude Code (CLI)', 'OAuth: run the first command, then /mcp in Claude Code to sign in. With an API key, use the second.',
      `claude mcp add --transport http ${n} ${url}\n\nclaude mcp add --transport http ${n} ${url} --header "Authorization: ${bearer}"`],
    ['Cursor', 'Add to ~/.cursor/mcp.json. Without the headers entry Cursor signs in with OAuth.',
      json({ mcpServers: { [n]: { url, headers: { Authorization: bearer } } } })],
    ['VS Code', 'Add to .vscode/mcp.json. VS Code asks for the key once and stores it; without headers it signs in with OAuth.',
      json({ inputs: [{ type: 'promptString', id: 'kiln-key', description: 'Kiln API key', password: true }],
        servers: { [n]: { type: 'http', url, headers: { Authorization: 'Bearer ${input:kiln-key}' } } } })],
    ['MCP Inspector', 'Run the Inspector, choose the Streamable HTTP transport and paste the URL; for OAuth use its "Open Auth Settings" flow, for a key add the Authorization header. Or list the tools from the command line:',
      `npx @modelcontextprotocol/inspector\n\nnpx @modelcontextprotocol/inspector --cli ${url} --transport http --method tools/list --header "Authorization: ${bearer}"`],
    ['curl', 'A raw MCP request with an API key (the endpoint is stateless Streamable HTTP):',
      `curl -sS ${url} \\\n  -H "Authorization: ${bearer}" \\\n  -H 'Content-Type: application/json' \\\n  -H 'Accept: application/json, text/event-stream' \\\n  -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'`],
  ];
}

export function render(container, url, name, key) {
  container.replaceChildren(...clients(url, name, key).map(([title, text, config], i) => {
    const id = 'connect-' + i;
    return h('details', { class: 'client' },
      h('summary', {}, title),
      h('p', {}, text),
      h('pre', {}, h('code', { id }, config)),
      h('button', { type: 'button', class: 'copy', 'data-copy-from': id }, 'Copy ' + title + ' configuration'));
  }));
  if (!key) {
    container.append(h('p', { class: 'hint' }, 'Replace $KILN_API_KEY with a key from "API keys" below, or create one: the configuration then shows it until you leave the page.'));
  }
}
