#!/usr/bin/env bash
# End to end against a real `kiln serve`, following the README's newcomer
# flow: zero-config serve, a signed library module pushed, a customer, a
# server with a library tool, a server-scoped key, then the TypeScript MCP
# SDK lists and calls the tool over Streamable HTTP; then a local account,
# and the SDK's OAuth client signs in as that user and calls the tool.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'kill "${serve_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/kiln" ./cmd/kiln
kiln="$work/kiln"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
export KILN_SERVER_URL="http://127.0.0.1:$port"
# exec: the trap must kill kiln itself, not a subshell that would leave it running.
(cd "$work" && exec "$kiln" serve --addr "127.0.0.1:$port" >serve.log 2>&1) &
serve_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$KILN_SERVER_URL/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -fsS "$KILN_SERVER_URL/healthz" >/dev/null

json() { python3 -c "import json,sys; print(json.load(sys.stdin)[sys.argv[1]])" "$1"; }

cd "$work"
"$kiln" build "$OLDPWD/toolkits/library/units" -o units.wasm
"$kiln" library sign --key kiln-data/library-signing.key units.wasm
"$kiln" library push units.wasm --name units --version 1.0.0 --min-tier free >/dev/null
customer=$("$kiln" admin create-customer --name CI --tier free | json id)
account=$("$kiln" admin create-key "$customer" 2>/dev/null | json key)
server=$(curl -fsS -H "Authorization: Bearer $account" -H 'Content-Type: application/json' \
  -d '{"name":"ci"}' "$KILN_SERVER_URL/api/v1/servers" | json id)
curl -fsS -H "Authorization: Bearer $account" -H 'Content-Type: application/json' \
  -d '{"library":{"name":"units"},"tool":"convert_units"}' "$KILN_SERVER_URL/api/v1/servers/$server/tools" >/dev/null
mcpkey=$("$kiln" admin create-key "$customer" --for-server "$server" 2>/dev/null | json key)
cd "$OLDPWD"

js=pkg/mcphost/testdata/js
npm ci --prefix "$js" --no-audit --no-fund --loglevel=error >/dev/null
out=$(node "$js/client.mjs" "$KILN_SERVER_URL/mcp/$server" "$mcpkey" convert_units '{"value":3,"from":"mile","to":"km"}')
echo "$out"
echo "$out" | grep -q '"name":"convert_units"'
echo "$out" | grep -q '4.828032'
# A key for the account, not the server, is refused on the MCP endpoint.
status=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $account" \
  -H 'Content-Type: application/json' -d '{}' "$KILN_SERVER_URL/mcp/$server")
[ "$status" = 401 ]

# OAuth: a user of the customer with a local account signs in on Kiln's login
# page. The TypeScript SDK's OAuth client, holding no key, discovers Kiln's
# authorization server from the 401, registers itself, gets a token for the
# server (PKCE, resource), calls the tool, refreshes and calls again.
password=$(python3 -c 'import secrets; print(secrets.token_urlsafe(18))')
(cd "$work" && KILN_USER_PASSWORD="$password" "$kiln" create-user --customer "$customer" --username ci-user >/dev/null)
out=$(KILN_TEST_PASSWORD="$password" node "$js/oauth-client.mjs" "$KILN_SERVER_URL/mcp/$server" ci-user \
  convert_units '{"value":3,"from":"mile","to":"km"}')
echo "$out"
echo "$out" | grep -q '"issuer":"'"$KILN_SERVER_URL"'"'
echo "$out" | grep -q '"name":"convert_units"'
echo "$out" | grep -q '"refreshed":{"accessTokenChanged":true,"refreshTokenRotated":true}'
# The call before the refresh and the call after it.
[ "$(echo "$out" | grep -c '4.828032')" = 2 ]
echo "e2e: ok"
