// An MCP client that holds no key but a user's login: the official
// TypeScript SDK's OAuth support against a Kiln server, as a desktop agent
// would use it. The SDK gets a 401, finds Kiln's authorization server from
// the protected resource metadata, registers itself (RFC 7591) and sends
// the user to the authorization URL; this script then plays the user's
// browser on Kiln's login page, takes the code from the redirect to the
// callback, and lets the SDK exchange it (PKCE, resource). It then lists the
// tools and calls one, refreshes the tokens through the SDK's auth(), and
// calls again with the new access token.
//
//   KILN_TEST_PASSWORD=... node oauth-client.mjs URL USERNAME TOOL ARGS_JSON
//   node oauth-client.mjs URL USERNAME PASSWORD TOOL ARGS_JSON
//
// It prints JSON lines, in order:
//   {"authorized": {clientId, issuer, resource, scope}}
//   {"tools": [{name, hasOutputSchema}]}
//   {tool, isError, text, structuredContent}                     the call
//   {"refreshed": {accessTokenChanged, refreshTokenRotated}}
//   {tool, isError, text, structuredContent}                     the call again
// and exits non-zero with a message on stderr on any failure.
// pkg/mcphost's TestTypeScriptOAuthClient runs it; so does .ci/e2e.sh
// against `kiln serve`.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { auth, UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { randomBytes } from "node:crypto";

const argv = process.argv.slice(2);
let url, username, password, tool, argsJSON;
if (argv.length === 4 && process.env.KILN_TEST_PASSWORD) {
  [url, username, tool, argsJSON] = argv;
  password = process.env.KILN_TEST_PASSWORD;
} else if (argv.length === 5) {
  [url, username, password, tool, argsJSON] = argv;
} else {
  console.error("usage: KILN_TEST_PASSWORD=... node oauth-client.mjs URL USERNAME TOOL ARGS_JSON");
  console.error("   or: node oauth-client.mjs URL USERNAME PASSWORD TOOL ARGS_JSON");
  process.exit(2);
}
const serverUrl = new URL(url);
const toolArgs = JSON.parse(argsJSON);

// Nothing listens on the callback: the browser below reads the redirect's
// Location instead of following it, as a native app's loopback listener
// would receive it.
const redirectUrl = "http://127.0.0.1:53682/callback";

function fail(msg) {
  throw new Error(msg);
}

// A whole run takes a few seconds; never hang a test or CI job.
setTimeout(() => {
  console.error("oauth-client.mjs: timed out after 60 s");
  process.exit(1);
}, 60_000).unref();

// InMemoryProvider is the SDK's OAuthClientProvider, keeping everything in
// memory. The first redirectToAuthorization runs the browser; any later
// one is an error, so a refresh that silently fell back to a new
// authorization could not pass.
class InMemoryProvider {
  constructor() {
    this.info = undefined;
    this.tok = undefined;
    this.verifier = undefined;
    this.discovery = undefined;
    this.expectedState = undefined;
    this.code = undefined;
    this.interactive = true;
  }
  get redirectUrl() {
    return redirectUrl;
  }
  get clientMetadata() {
    return {
      client_name: "Kiln TypeScript OAuth test client",
      redirect_uris: [redirectUrl],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  }
  state() {
    this.expectedState = randomBytes(16).toString("base64url");
    return this.expectedState;
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(info) {
    this.info = info;
  }
  tokens() {
    return this.tok;
  }
  saveTokens(tokens) {
    this.tok = tokens;
  }
  saveCodeVerifier(v) {
    this.verifier = v;
  }
  codeVerifier() {
    if (!this.verifier) fail("no code verifier saved");
    return this.verifier;
  }
  saveDiscoveryState(state) {
    this.discovery = state;
  }
  discoveryState() {
    return this.discovery;
  }
  async redirectToAuthorization(authorizationUrl) {
    if (!this.interactive) fail(`unexpected second authorization (${authorizationUrl}): the refresh did not work`);
    this.interactive = false;
    const issuer = this.discovery?.authorizationServerMetadata?.issuer;
    if (!issuer) fail("the SDK saved no authorization server metadata before redirecting");
    this.code = await browse(authorizationUrl, issuer, this.expectedState);
  }
}

// A cookie jar for one origin: name → value.
const cookies = new Map();
function keepCookies(res) {
  for (const c of res.headers.getSetCookie()) {
    const [pair] = c.split(";");
    const i = pair.indexOf("=");
    cookies.set(pair.slice(0, i).trim(), pair.slice(i + 1).trim());
  }
}
function cookieHeader() {
  return [...cookies].map(([k, v]) => `${k}=${v}`).join("; ");
}

// The hidden fields of the login form, whatever the attribute order.
function formField(html, name) {
  for (const tag of html.match(/<input\b[^>]*>/gi) ?? []) {
    const n = tag.match(/\bname\s*=\s*"([^"]*)"/i);
    const v = tag.match(/\bvalue\s*=\s*"([^"]*)"/i);
    if (n && n[1] === name && v) return unescapeHTML(v[1]);
  }
  fail(`the login page has no ${name} field:\n${html}`);
}
function unescapeHTML(s) {
  return s
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

// browse is the user's browser: the authorization URL, redirects within
// Kiln to the login page, the form signed, and the redirect back to the
// client, whose code it returns after checking state and iss (RFC 9207).
async function browse(authorizationUrl, issuer, state) {
  let page = new URL(authorizationUrl);
  let res;
  for (let hops = 0; ; hops++) {
    if (hops > 5) fail("too many redirects before the login page");
    res = await fetch(page, { redirect: "manual", headers: { Cookie: cookieHeader() } });
    keepCookies(res);
    if (res.status < 300 || res.status >= 400) break;
    const next = new URL(res.headers.get("location"), page);
    if (next.origin !== new URL(issuer).origin) fail(`redirected away before signing in: ${next}`);
    page = next;
  }
  const html = await res.text();
  if (res.status !== 200) fail(`login page ${page}: ${res.status}\n${html}`);
  const form = new URLSearchParams({
    id: formField(html, "id"),
    csrf: formField(html, "csrf"),
    username,
    password,
    action: "allow",
  });
  const post = await fetch(new URL("/oauth/login", page), {
    method: "POST",
    redirect: "manual",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Cookie: cookieHeader() },
    body: form,
  });
  keepCookies(post);
  if (post.status < 300 || post.status >= 400) fail(`signing in: ${post.status}\n${await post.text()}`);
  const callback = new URL(post.headers.get("location"), page);
  if (`${callback.origin}${callback.pathname}` !== redirectUrl) fail(`redirected to ${callback}, not the client's callback`);
  const q = callback.searchParams;
  if (q.has("error")) fail(`authorization error: ${q.get("error")} ${q.get("error_description") ?? ""}`);
  if (q.get("state") !== state) fail(`state ${q.get("state")}, want ${state}`);
  if (q.get("iss") !== issuer) fail(`iss ${q.get("iss")}, want the issuer ${issuer}`);
  const code = q.get("code");
  if (!code) fail(`no code in ${callback}`);
  return code;
}

function textOf(res) {
  return (res.content ?? []).filter((c) => c.type === "text").map((c) => c.text).join("\n");
}

// connectAndCall opens a session with a new transport and calls the tool.
async function connectAndCall(provider, listTools) {
  const transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider });
  const client = new Client({ name: "kiln-ts-oauth-client", version: "1.0.0" });
  await client.connect(transport);
  if (listTools) {
    const { tools } = await client.listTools();
    console.log(JSON.stringify({ tools: tools.map((t) => ({ name: t.name, hasOutputSchema: !!t.outputSchema })) }));
  }
  const res = await client.callTool({ name: tool, arguments: toolArgs });
  console.log(JSON.stringify({ tool, isError: !!res.isError, text: textOf(res), structuredContent: res.structuredContent ?? null }));
  await client.close();
}

async function main() {
  const provider = new InMemoryProvider();

  // First connection: 401, discovery, registration, the browser; the SDK
  // then gives up on this connection with UnauthorizedError.
  const transport = new StreamableHTTPClientTransport(serverUrl, { authProvider: provider });
  const first = new Client({ name: "kiln-ts-oauth-client", version: "1.0.0" });
  try {
    await first.connect(transport);
    fail("connected without authorization: the server did not ask for credentials");
  } catch (err) {
    if (!(err instanceof UnauthorizedError)) throw err;
  }
  if (!provider.code) fail("the SDK did not send the user to authorize");
  await transport.finishAuth(provider.code);
  const tokens = provider.tokens();
  if (!tokens?.access_token || !tokens?.refresh_token) fail(`token response without an access and a refresh token: ${Object.keys(tokens ?? {})}`);
  console.log(
    JSON.stringify({
      authorized: {
        clientId: provider.clientInformation()?.client_id,
        issuer: provider.discovery.authorizationServerMetadata.issuer,
        resource: provider.discovery.resourceMetadata?.resource,
        scope: tokens.scope ?? "",
      },
    }),
  );

  await connectAndCall(provider, true);

  // A refresh through the SDK's own entry point: with a refresh token in
  // hand, auth() uses the refresh_token grant (with the resource).
  const before = provider.tokens();
  const result = await auth(provider, { serverUrl });
  if (result !== "AUTHORIZED") fail(`refresh: auth() returned ${result}`);
  const after = provider.tokens();
  console.log(
    JSON.stringify({
      refreshed: {
        accessTokenChanged: after.access_token !== before.access_token,
        refreshTokenRotated: !!after.refresh_token && after.refresh_token !== before.refresh_token,
      },
    }),
  );

  await connectAndCall(provider, false);
}

try {
  await main();
  process.exit(0);
} catch (err) {
  console.error(`oauth-client.mjs: ${err?.stack ?? err}`);
  process.exit(1);
}
