// The TypeScript SDK's Streamable HTTP transport answering a Kiln tool's
// elicitation in a multi-round call (MCP 2026-07-28, SEP-2322).
//
//   node mrtr-client.mjs URL KEY TOOL NAME
//
// @modelcontextprotocol/sdk 1.32.2 speaks up to 2025-11-25 and has no
// multi-round results in its Client, so this script uses the SDK's
// transport at 2026-07-28 and does the client's part itself: it calls
// TOOL, answers every elicitation/create input request by accepting
// {"name": NAME} (as a user would in a form), retries with inputResponses
// and the requestState, and prints one JSON line per round:
// {round, resultType, inputRequests, text, isError}. It exits non-zero on
// a JSON-RPC error or after 5 rounds.
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, key, tool, name] = process.argv.slice(2);
if (!url || !key || !tool || !name) {
  console.error("usage: node mrtr-client.mjs URL KEY TOOL NAME");
  process.exit(2);
}

const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${key}`, "Mcp-Method": "tools/call", "Mcp-Name": tool } },
});
let pending;
transport.onmessage = (msg) => {
  if ("id" in msg && pending && msg.id === pending.id) pending.resolve(msg);
};
transport.onerror = (err) => console.error("transport:", err.message);
await transport.start();
transport.setProtocolVersion("2026-07-28");

let nextId = 1;
function call(params) {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending = { id, resolve };
    transport.send({
      jsonrpc: "2.0", id, method: "tools/call",
      params: {
        ...params,
        _meta: {
          "io.modelcontextprotocol/protocolVersion": "2026-07-28",
          "io.modelcontextprotocol/clientCapabilities": { elicitation: {} },
          "io.modelcontextprotocol/clientInfo": { name: "kiln-ts-mrtr", version: "1.0.0" },
        },
      },
    }).catch(reject);
  });
}

let params = { name: tool, arguments: {} };
for (let round = 1; round <= 5; round++) {
  const msg = await call(params);
  if (msg.error) {
    console.error(`JSON-RPC error ${msg.error.code}: ${msg.error.message}`);
    process.exit(1);
  }
  const res = msg.result;
  const text = (res.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
  console.log(JSON.stringify({ round, resultType: res.resultType, inputRequests: res.inputRequests, text, isError: !!res.isError }));
  if (res.resultType !== "input_required") {
    await transport.close();
    process.exit(0);
  }
  const inputResponses = {};
  for (const [id, req] of Object.entries(res.inputRequests)) {
    if (req.method !== "elicitation/create") {
      console.error(`unexpected input request ${req.method}`);
      process.exit(1);
    }
    inputResponses[id] = { action: "accept", content: { name } };
  }
  params = { name: tool, arguments: {}, inputResponses, requestState: res.requestState };
}
console.error("no final result after 5 rounds");
process.exit(1);
