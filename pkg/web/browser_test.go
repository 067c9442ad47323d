package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kilnhq/kiln/pkg/service/servicetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// TestBrowserFirstRunToExecution walks a newcomer's path in headless
// Chromium against a whole node: the first account on a fresh instance,
// a server, a library tool added in one click (a pro-only module shown as
// an upgrade to this free account), an API key shown once, the Connect
// configuration carrying it, copied into the TypeScript MCP SDK to call
// the tool, a call to the tool with it, and the call in
// the execution list; then signing out and in again.
func TestBrowserFirstRunToExecution(t *testing.T) {
	b := newBrowser(t)
	node := servicetest.Start(t, servicetest.Options{})
	node.PublishLibrary(t, "echo", "1.0.0", "free", echoModule(t, "free"))
	node.PublishLibrary(t, "fetch", "1.0.0", "pro", echoModule(t, "pro"))

	firstAccount(t, b, node.URL)

	serverID := createServer(t, b, "weather")
	addLibraryTool(t, b, node.URL, serverID)
	key := createKey(t, b, node.URL, serverID)
	connectWithTypeScript(t, b, serverID, key)
	callTool(t, node.URL, serverID, key)
	playground(t, b, node.URL, serverID)

	b.do("opening the executions", chromedp.Navigate(node.URL+"/executions?server="+serverID), loaded("#execution-list"))
	if list := b.text("#execution-list"); !strings.Contains(list, "echo") || !strings.Contains(list, "succeeded") {
		t.Errorf("executions list %q, want the echo call that succeeded", list)
	}
	b.screenshot("executions")
	b.check("executions")

	signOutAndIn(t, b, node.URL)
}

// firstAccount creates the first account of a fresh instance from /.
func firstAccount(t *testing.T, b *browser, base string) {
	t.Helper()
	b.do("opening /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("f-name")))
	if loc := b.location(); !strings.HasSuffix(loc, "/setup") {
		t.Fatalf("a fresh instance's / went to %s, want /setup", loc)
	}
	b.screenshot("setup")
	b.check("setup")
	b.do("creating the first account",
		fill(map[string]string{"f-name": "Acme", "f-username": "ada", "f-email": "ada@example.com", "f-password": "correct horse battery"}),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("create-server")), loaded("#server-list"))
	b.check("servers")
	if who := b.text(".who"); !strings.Contains(who, "ada") || !strings.Contains(who, "owner") {
		t.Errorf("signed in as %q, want ada (owner)", who)
	}
}

func createServer(t *testing.T, b *browser, name string) string {
	t.Helper()
	b.do("creating a server",
		chromedp.SendKeys(chromedp.ID("srv-name"), name),
		chromedp.Click(chromedp.CSS(`#create-server button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("connect-h")), loaded("#tool-list"))
	if got := b.text("#server-name"); got != name {
		t.Fatalf("server page heading %q, want %q", got, name)
	}
	loc := b.location()
	return loc[strings.LastIndex(loc, "/")+1:]
}

// addLibraryTool adds echo from the library in one click, and checks that
// the free account sees the pro-only module as an upgrade it cannot add.
func addLibraryTool(t *testing.T, b *browser, base, serverID string) {
	t.Helper()
	b.do("opening the library", chromedp.Navigate(base+"/library?server="+serverID), loaded("#library-list"))
	pro := b.text(`[data-module="fetch"]`)
	if !strings.Contains(pro, "Needs the pro plan") || strings.Contains(pro, "Add to server") {
		t.Errorf("the pro-only module shows %q to a free account, want an upgrade without an Add button", pro)
	}
	if free := b.text(`[data-module="echo"]`); !strings.Contains(free, "Included in your plan") {
		t.Errorf("the free module shows %q", free)
	}
	b.screenshot("library")
	b.check("library")
	b.do("adding echo", chromedp.Click(chromedp.CSS(`[data-module="echo"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#status a`)))
	if msg := b.text("#status"); !strings.Contains(msg, "Added echo to weather") {
		t.Errorf("status after adding: %q", msg)
	}
	b.do("opening the server", chromedp.Navigate(base+"/servers/"+serverID), loaded("#tool-list"))
	if tools := b.text("#tool-list"); !strings.Contains(tools, "echo") || !strings.Contains(tools, "library echo@1.0.0") {
		t.Errorf("tools %q, want echo from the library", tools)
	}
}

// createKey creates a key on the server page and returns it, as shown
// once; the Connect configuration then carries it.
func createKey(t *testing.T, b *browser, base, serverID string) string {
	t.Helper()
	b.do("creating a key", loaded("#key-list"),
		chromedp.SendKeys(chromedp.ID("key-name"), "laptop"),
		chromedp.Click(chromedp.CSS(`#create-key button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("new-key")))
	key := b.text("#new-key-value")
	if !strings.HasPrefix(key, "kiln_") {
		t.Fatalf("the new key is %q", key)
	}
	b.do("listing keys", chromedp.WaitReady(chromedp.CSS(`#key-list td code`)))
	if list := b.text("#key-list"); !strings.Contains(list, "laptop") || strings.Contains(list, key) || !strings.Contains(list, "all tools") {
		t.Errorf("key list %q: want the key's name, good for all tools, and not the key", list)
	}
	b.do("opening the curl configuration", chromedp.Click(chromedp.CSS(`#connect-tabs details:last-of-type summary`)))
	curl := b.text("#connect-5")
	if !strings.Contains(curl, base+"/mcp/"+serverID) || !strings.Contains(curl, key) {
		t.Errorf("curl configuration %q lacks the URL or the key", curl)
	}
	b.screenshot("server")
	b.check("server")
	return key
}

// callTool calls echo at the server's MCP endpoint with the key.
func callTool(t *testing.T, base, serverID, key string) {
	t.Helper()
	status, out := testmodules.PostMCP(t, base+"/mcp/"+serverID, key,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"city":"Oslo"}}}`)
	if status != http.StatusOK || !strings.Contains(string(out), "Oslo") {
		t.Fatalf("tools/call: %d %s", status, out)
	}
}

// playground calls echo from the form generated from its input schema,
// with a key the playground creates, and shows the result and its costs.
func playground(t *testing.T, b *browser, base, serverID string) {
	t.Helper()
	b.do("opening the playground", chromedp.Navigate(base+"/servers/"+serverID), loaded("#tool-list"),
		chromedp.Click(chromedp.CSS(`#tool-list a.button`)),
		chromedp.WaitVisible(chromedp.ID("pg-new-key")), ready,
		chromedp.Click(chromedp.ID("pg-new-key")),
		chromedp.WaitVisible(chromedp.ID("run-form")))
	b.do("filling the arguments",
		chromedp.SendKeys(chromedp.CSS(`#pg-args input[type="text"]`), "Oslo"),
		chromedp.SetValue(chromedp.CSS(`#pg-args select`), "1"),
		chromedp.SendKeys(chromedp.CSS(`#pg-args input[type="number"]`), "3"),
		chromedp.Click(chromedp.CSS(`#pg-args .sf-array-wrap > button`)),
		chromedp.SendKeys(chromedp.CSS(`#pg-args ol.sf-array input`), "rain"),
		chromedp.Click(chromedp.CSS(`#run-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("pg-costs")))
	result := strings.Join(strings.Fields(b.text("#pg-result")), "")
	for _, want := range []string{`"city":"Oslo"`, `"units":"imperial"`, `"days":3`, `"tags":["rain"]`, "succeeded", "Fuelused"} {
		if !strings.Contains(result, want) {
			t.Errorf("playground result %q lacks %s", result, want)
		}
	}
	b.screenshot("playground")
	b.check("playground")
	// Raw JSON carries what the form holds; a bad document is refused in words.
	b.do("switching to raw JSON", chromedp.Click(chromedp.ID("pg-raw")), chromedp.WaitVisible(chromedp.ID("pg-json")))
	if raw, _ := chromedp.Run(b.ctx, chromedp.Value(chromedp.ID("pg-json"))); !strings.Contains(raw, `"Oslo"`) {
		t.Errorf("raw JSON %q lacks the form's arguments", raw)
	}
	b.do("sending arguments the schema refuses",
		chromedp.SetValue(chromedp.ID("pg-json"), `{"days": 2}`),
		chromedp.Click(chromedp.CSS(`#run-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#pg-text.error`)))
	if msg := b.text("#pg-text"); !strings.Contains(msg, "city") {
		t.Errorf("a call without the required city says %q", msg)
	}
}

// signOutAndIn signs out, and in again on the sign-in page: / no longer
// offers a first account.
func signOutAndIn(t *testing.T, b *browser, base string) {
	t.Helper()
	b.do("signing out", chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)))
	b.do("opening /", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`.actions`)))
	b.check("home")
	if home := b.text("main"); !strings.Contains(home, "Sign in") {
		t.Errorf("home after the first account: %q", home)
	}
	b.do("signing in",
		chromedp.Click(chromedp.CSS(`.actions a.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "ada"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[value="allow"]`)),
		chromedp.WaitVisible(chromedp.ID("create-server")), loaded("#server-list"))
	if list := b.text("#server-list"); !strings.Contains(list, "weather") {
		t.Errorf("servers after signing in again: %q", list)
	}
}
