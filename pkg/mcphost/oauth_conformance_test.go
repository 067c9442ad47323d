package mcphost_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// The OAuth side of the Node tests: the conformance suite's authorization
// server scenarios, and the TypeScript SDK's OAuth client provider, both
// against Kiln's authorization server on real HTTP.

// authorizationChecks are the checks the authorization scenarios of the
// pinned suite report. A check missing from the results fails the test, so
// a scenario that stops running cannot pass as green.
var authorizationChecks = []string{
	"authorization-server-metadata",
	"authorization-server-metadata-cimd",
	"authorization-code-grant",
}

// TestAuthorizationConformance runs `conformance authorization` (both
// scenarios: the RFC 8414 metadata endpoint and an authorization code grant
// with PKCE and a resource) against Kiln's authorization server. The suite
// plays the client: it prints an authorization URL and waits on its own
// callback server; the test plays the user's browser, signing in on Kiln's
// login page, and Kiln's redirect lands on the suite's callback. Every
// check must pass, except those listed with a reason in
// testdata/authorization-baseline.yml (a listed check that passes fails
// too, so the list stays true).
func TestAuthorizationConformance(t *testing.T) {
	modules := nodeModules(t)
	ctx := context.Background()
	s := storetest.SQLite(t)
	e := newOAuthEnv(t, s)
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "test_embedded_resource", conformanceWATModule(t)})
	if _, err := oauth.CreateLocalAccount(ctx, s, srv.CustomerID, "alice", "alice@example.com", testPassword, ""); err != nil {
		t.Fatal(err)
	}
	// The suite needs a pre-registered client whose redirect URI is its
	// callback server's, on a port it is told.
	port := freePort(t)
	redirect := "http://127.0.0.1:" + strconv.Itoa(port) + "/callback"
	client := store.OAuthClient{ID: "cli_conformance", Name: "Test Client", RedirectURIs: mustJSON(t, []string{redirect})}
	if err := s.CreateOAuthClient(ctx, &client); err != nil {
		t.Fatal(err)
	}

	// KILN_CONFORMANCE_OUT keeps the per-check results (CI artifacts).
	outDir := t.TempDir()
	if dir := os.Getenv("KILN_CONFORMANCE_OUT"); dir != "" {
		outDir = filepath.Join(dir, "authorization")
		// The suite adds a directory per run: keep only this run's.
		if err := os.RemoveAll(outDir); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	cmd := nodeCommand(ctx, modules, "conformance", "authorization", "--url", e.as.Issuer(),
		"--client-id", client.ID, "--resource", e.host.ResourceURL(srv.ID),
		"-p", strconv.Itoa(port), "-o", outDir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}

	// Read the suite's output as it comes. It prints the authorization URL
	// and, from its callback server's listen callback, "Callback server
	// started"; both must be seen before the browser may be sent there.
	authURLs := make(chan string, 1)
	outDone := make(chan struct{})
	var output strings.Builder // read once outDone is closed
	go func() {
		defer close(outDone)
		var authURL string
		listening, sent := false, false
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			output.WriteString(line + "\n")
			switch {
			case strings.HasPrefix(line, e.as.Issuer()+"/oauth/authorize?"):
				authURL = line
			case strings.HasPrefix(line, "Callback server started"):
				listening = true
			}
			if authURL != "" && listening && !sent {
				authURLs <- authURL
				sent = true
			}
		}
	}()
	// wait reads the suite's output to its end, waits for it to exit and
	// logs what it printed. The deferred call stops it first, should the
	// browser part below end the test early.
	var waitErr error
	waited := false
	wait := func() error {
		if !waited {
			waited = true
			<-outDone // stdout must be read to its end before Wait
			waitErr = cmd.Wait()
			t.Logf("conformance authorization --url %s\n%s%s", e.as.Issuer(), output.String(), stderr.String())
		}
		return waitErr
	}
	defer func() { cancel(); _ = wait() }()

	select {
	case authURL := <-authURLs:
		// The browser: Kiln's login page, then its redirect to the suite.
		loc := e.authorize(authURL, "alice")
		if !strings.HasPrefix(loc.String(), redirect+"?") {
			t.Errorf("Kiln redirected the browser to %s, not to the client's callback", loc)
		}
		// The suite checks iss only when present; Kiln advertises it
		// (authorization_response_iss_parameter_supported), so it must be.
		if iss := loc.Query()["iss"]; len(iss) != 1 || iss[0] != e.as.Issuer() {
			t.Errorf("the authorization response's iss is %q, want [%q]", iss, e.as.Issuer())
		}
		resp, err := http.Get(loc.String())
		if err != nil {
			t.Errorf("following the redirect to the suite's callback: %v", err)
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("the suite's callback answered %s: %s", resp.Status, body)
			}
		}
	case <-outDone:
		t.Error("the suite ended without asking for an authorization")
	case <-ctx.Done():
		t.Error("the suite did not print an authorization URL in time")
	}
	// The exit status is non-zero when any check failed, listed in the
	// baseline or not: the per-check results below decide.
	if err := wait(); err != nil {
		t.Logf("conformance authorization: %v", err)
	}

	results := readAuthorizationChecks(t, outDir)
	baseline := readAuthorizationBaseline(t)
	for _, id := range authorizationChecks {
		if _, ok := results[id]; !ok {
			t.Errorf("check %s: not reported by the suite", id)
		}
	}
	for id, c := range results {
		reason, expected := baseline[id]
		switch {
		case c.Status == "SUCCESS" && expected:
			t.Errorf("check %s passes but is listed in the baseline (%s): remove it", id, reason)
		case c.Status != "SUCCESS" && !expected:
			t.Errorf("check %s: %s: %s", id, c.Status, c.ErrorMessage)
		case c.Status != "SUCCESS":
			t.Logf("check %s: %s as listed in the baseline (%s)", id, c.Status, reason)
		}
	}
	for id := range baseline {
		if _, ok := results[id]; !ok {
			t.Errorf("baseline entry %s names no check the suite reported", id)
		}
	}
}

// authorizationCheck is one entry of a scenario's checks.json.
type authorizationCheck struct {
	ID           string `json:"id"`
	Status       string `json:"status"` // SUCCESS, FAILURE, WARNING, SKIPPED, INFO
	ErrorMessage string `json:"errorMessage"`
}

// readAuthorizationChecks reads the checks of every scenario the suite
// saved: -o DIR holds one directory per scenario run, with a checks.json.
func readAuthorizationChecks(t *testing.T, dir string) map[string]authorizationCheck {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*", "checks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("the suite saved no results in %s", dir)
	}
	out := map[string]authorizationCheck{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var checks []authorizationCheck
		if err := json.Unmarshal(data, &checks); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range checks {
			if _, dup := out[c.ID]; dup {
				t.Errorf("check %s reported twice", c.ID)
			}
			out[c.ID] = c
		}
	}
	return out
}

// readAuthorizationBaseline reads testdata/authorization-baseline.yml, a
// flat YAML map of check id to the reason it cannot pass (comments and
// blank lines aside).
func readAuthorizationBaseline(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(testmodules.Root(), "pkg/mcphost/testdata/authorization-baseline.yml"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, reason, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(reason) == "" {
			t.Fatalf("authorization-baseline.yml:%d: want `check-id: reason`", i+1)
		}
		out[strings.TrimSpace(id)] = strings.TrimSpace(reason)
	}
	return out
}

// freePort returns a loopback port that was free a moment ago, for a
// program that must be told its port before it listens.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestTypeScriptOAuthClient: the official TypeScript SDK, as an MCP client
// with no credentials but a user (testdata/js/oauth-client.mjs), finds
// Kiln's authorization server from the 401, registers itself (RFC 7591),
// sends the user through the login page, exchanges the code, lists and
// calls the tools, refreshes its tokens and calls again with the new
// access token.
func TestTypeScriptOAuthClient(t *testing.T) {
	modules := nodeModules(t)
	ctx := context.Background()
	s := storetest.SQLite(t)
	e := newOAuthEnv(t, s)
	mod := toolsModule(t)
	srv := e.addServer(bigPlan.Name, toolSpec{"echo", "echo", mod})
	if _, err := oauth.CreateLocalAccount(ctx, s, srv.CustomerID, "alice", "alice@example.com", testPassword, ""); err != nil {
		t.Fatal(err)
	}
	// The script imports from node_modules, which lives in the cache
	// directory: run a copy there.
	data, err := os.ReadFile(filepath.Join(testmodules.Root(), jsDir, "oauth-client.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	local := filepath.Join(modules, "oauth-client.mjs")
	if err := os.WriteFile(local, data, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := nodeCommand(ctx, modules, "node", local, e.url(srv.ID), "alice", "echo", `{"text":"over OAuth"}`)
	cmd.Env = append(cmd.Env, "KILN_TEST_PASSWORD="+testPassword)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	t.Logf("node oauth-client.mjs:\n%s%s", out, stderr.Bytes())
	if err != nil {
		t.Fatalf("the TypeScript OAuth client failed: %v", err)
	}

	// The lines: authorized, tools, the call, refreshed, the call again.
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 5 {
		t.Fatalf("want 5 lines of output, got %d", len(lines))
	}
	var authorized struct {
		Authorized struct{ ClientID, Issuer, Resource, Scope string }
	}
	decodeLine(t, lines[0], &authorized)
	if a := authorized.Authorized; !strings.HasPrefix(a.ClientID, "cli_") || a.Issuer != e.as.Issuer() ||
		a.Resource != e.host.ResourceURL(srv.ID) || !slices.Contains(strings.Fields(a.Scope), "mcp") {
		t.Errorf("authorization %+v, want a registered client, issuer %s, resource %s, scope mcp",
			a, e.as.Issuer(), e.host.ResourceURL(srv.ID))
	}
	var list struct {
		Tools []struct{ Name string }
	}
	decodeLine(t, lines[1], &list)
	if len(list.Tools) != 1 || list.Tools[0].Name != "echo" {
		t.Errorf("tools %+v", list.Tools)
	}
	for _, i := range []int{2, 4} {
		var res struct {
			Tool              string
			IsError           bool
			StructuredContent map[string]any
		}
		decodeLine(t, lines[i], &res)
		if res.Tool != "echo" || res.IsError || res.StructuredContent["text"] != "over OAuth" {
			t.Errorf("line %d: call %+v", i+1, res)
		}
	}
	var refreshed struct {
		Refreshed struct{ AccessTokenChanged, RefreshTokenRotated bool }
	}
	decodeLine(t, lines[3], &refreshed)
	if r := refreshed.Refreshed; !r.AccessTokenChanged || !r.RefreshTokenRotated {
		t.Errorf("refresh %+v, want a new access token and a rotated refresh token", r)
	}
	// Both calls reached the tool, each as its OAuth access token (the
	// actor names the token): the second with the refreshed one.
	execs := e.executions(srv)
	if len(execs) != 2 {
		t.Fatalf("%d executions recorded, want 2", len(execs))
	}
	if !strings.Contains(execs[0].Actor, "oauth:") || !strings.Contains(execs[1].Actor, "oauth:") || execs[0].Actor == execs[1].Actor {
		t.Errorf("the calls' actors are %q and %q, want two different OAuth access tokens", execs[1].Actor, execs[0].Actor)
	}
}

// decodeLine decodes one JSON line of the script's output; field names
// match case-insensitively.
func decodeLine(t *testing.T, line string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(line), v); err != nil {
		t.Fatalf("output line %s: %v", line, err)
	}
}
