package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/kilnhq/kiln/pkg/testmodules"
	"github.com/kilnhq/kiln/sandbox/manifest"
)

// chromiumPath finds headless Chromium. Without it the browser tests are
// skipped on a developer's machine, and fail in CI (CI=true), where
// .ci/run installs it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; .ci/run installs it (apt-get install chromium)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); the browser tests are skipped outside CI")
	return ""
}

// browser is one headless Chromium tab. Script exceptions and console
// errors (a Content-Security-Policy violation among them) fail the test.
type browser struct {
	t   *testing.T
	ctx context.Context
	mu  sync.Mutex
	// problems are the page errors seen so far.
	problems []string
	// axe is axe-core's script ("" without npm, outside CI).
	axe string
}

// browserTimeout bounds a whole browser test: a stuck page fails it
// rather than hanging CI. It is a safety net, not an assertion.
const browserTimeout = 6 * time.Minute

func newBrowser(t *testing.T) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)), chromedp.NoSandbox, chromedp.WindowSize(1100, 760))
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	b := &browser{t: t, axe: axeSource(t)}
	bctx, cancelTab := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(cancelTab)
	b.ctx = bctx
	if _, err := chromedp.Call(bctx, log.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(b.checkProblems)
	return b
}

func (b *browser) listen(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = "exception: " + ev.ExceptionDetails.Text
		if ev.ExceptionDetails.Exception != nil {
			msg += " " + ev.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError {
			var parts []string
			for _, a := range ev.Args {
				parts = append(parts, a.Description+string(a.Value))
			}
			msg = "console.error: " + strings.Join(parts, " ")
		}
	case *log.EventEntryAdded:
		// Failed fetches are the API's answers (a 403 the page shows);
		// what matters is the rest: CSP violations, script errors.
		if ev.Entry.Level == log.EntryLevelError && ev.Entry.Source != log.EntrySourceNetwork {
			msg = "log: " + ev.Entry.Text
		}
	}
	if msg != "" {
		b.mu.Lock()
		b.problems = append(b.problems, msg)
		b.mu.Unlock()
	}
}

func (b *browser) checkProblems() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.problems {
		b.t.Errorf("page problem: %s", p)
	}
}

// do runs steps, failing the test on error with what it was doing.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("%s (at %s): %v", what, loc, err)
	}
}

// text returns the text of the first element matching sel, once visible.
func (b *browser) text(sel string) string {
	b.t.Helper()
	b.do("waiting for "+sel, chromedp.WaitVisible(chromedp.CSS(sel)))
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("reading %s: %v", sel, err)
	}
	return s
}

// location is the page's URL.
func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatal(err)
	}
	return loc
}

// loaded waits until a list the page's script fills has been filled, and
// the script is ready (its handlers bound: a click before would be lost).
func loaded(sel string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.WaitReady(chromedp.CSS(sel+":not([aria-busy])")), ready)
}

// ready waits for the page's script to be ready (body[data-ready]). Wait
// for an element of the new page first: the old page was ready too.
var ready = chromedp.WaitReady(chromedp.CSS("body[data-ready]"))

// fill types into the form fields by id.
func fill(fields map[string]string) chromedp.Action[chromedp.Void] {
	var steps []chromedp.Action[chromedp.Void]
	for id, v := range fields {
		steps = append(steps, chromedp.SendKeys(chromedp.ID(id), v))
	}
	return chromedp.Steps(steps...)
}

// screenshot saves the viewport as a PNG into $KILN_WEB_SCREENSHOTS
// (unset: nothing is saved), for the README.
func (b *browser) screenshot(name string) {
	dir := os.Getenv("KILN_WEB_SCREENSHOTS")
	if dir == "" {
		return
	}
	b.do("scrolling to the top", chromedp.Evaluate[chromedp.Void]("window.scrollTo(0, 0)"))
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// echoSchema is the input schema of the test's echo tool: a string, an
// enum, an integer and an array, for the playground's generated form.
const echoSchema = `{"type":"object","required":["city"],"properties":{` +
	`"city":{"type":"string","description":"The city to look up."},` +
	`"units":{"type":"string","enum":["metric","imperial"]},` +
	`"days":{"type":"integer","minimum":1},` +
	`"tags":{"type":"array","items":{"type":"string"}}}}`

// echoModule is the WAT echo module (it answers with its arguments)
// offering tools under another label: a module of its own (hash) for each
// label.
func echoModule(t *testing.T, label string) []byte {
	t.Helper()
	wasm, err := manifest.Embed(testmodules.WAT(t, "toolkits/wat/echo.wasm"),
		[]byte(fmt.Sprintf(`{"abi":1,"tools":[{"name":"echo","description":"Echoes its arguments (%s).","inputSchema":%s}]}`, label, echoSchema)))
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}
