// A real MCP client against a Kiln server: the official TypeScript SDK over
// Streamable HTTP lists the tools and calls them, as a desktop agent would.
//
//   node client.mjs URL KEY [TOOL ARGS_JSON]...
//
// With no TOOL, it lists the tools and calls the first one with {}. Each
// call asks for progress (a progressToken) and prints one JSON line
// {tool, isError, text, structuredContent, progress, logs}: the progress
// and log notifications that arrived during the call. A TOOL written
// cancel:NAME calls NAME and cancels it (notifications/cancelled) at its
// first progress notification, printing {tool, canceled, progress}. The
// listing prints {tools: [...]}. It exits non-zero if connecting, listing
// or a call fails at the protocol level (a tool error is a result, not a
// failure). pkg/mcphost's TestTypeScriptClient runs it; so can .ci/run
// against `kiln serve`.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { LoggingMessageNotificationSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, key, ...rest] = process.argv.slice(2);
if (!url || !key) {
  console.error("usage: node client.mjs URL KEY [TOOL ARGS_JSON]...");
  process.exit(2);
}

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}` } },
});
const client = new Client({ name: "kiln-ts-client", version: "1.0.0" });
await client.connect(transport);
let logs = [];
client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
  logs.push(n.params);
});

const { tools } = await client.listTools();
console.log(JSON.stringify({
  tools: tools.map((t) => ({ name: t.name, title: t.title ?? null, hasOutputSchema: !!t.outputSchema, annotations: t.annotations ?? null })),
}));

const calls = [];
for (let i = 0; i + 1 < rest.length; i += 2) calls.push([rest[i], JSON.parse(rest[i + 1])]);
if (calls.length === 0 && tools.length > 0) calls.push([tools[0].name, {}]);

for (const [name, args] of calls) {
  const progress = [];
  logs = [];
  if (name.startsWith("cancel:")) {
    const abort = new AbortController();
    const onprogress = (p) => {
      progress.push(p);
      abort.abort("the test has seen progress");
    };
    try {
      await client.callTool({ name: name.slice(7), arguments: args }, undefined, { onprogress, signal: abort.signal });
      console.log(JSON.stringify({ tool: name, canceled: false, progress }));
    } catch (err) {
      console.log(JSON.stringify({ tool: name, canceled: abort.signal.aborted, error: String(err), progress }));
    }
    continue;
  }
  const res = await client.callTool({ name, arguments: args }, undefined, { onprogress: (p) => progress.push(p) });
  const text = (res.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
  console.log(JSON.stringify({ tool: name, isError: !!res.isError, text, structuredContent: res.structuredContent ?? null, progress, logs }));
}
await client.close();
