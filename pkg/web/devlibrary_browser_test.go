package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kilnhq/kiln/pkg/service/servicetest"
)

// TestBrowserDevLibrary starts a fresh development node from the source
// checkout with the development library on: while the node builds the
// curated library with the real toolchain, the library page says which
// module of how many it is building; when it is done the catalogue holds
// the library (the network module as an upgrade for a free account), and
// a library tool is added to a server in one click, with no CLI involved.
func TestBrowserDevLibrary(t *testing.T) {
	b := newBrowser(t)
	node := servicetest.Start(t, servicetest.Options{Env: map[string]string{"KILN_DEV_LIBRARY": "true", "KILN_CACHE_DIR": modules.Dir(t)}})
	firstAccount(t, b, node.URL)
	serverID := createServer(t, b, "toolbox")

	b.do("opening the library", chromedp.Navigate(node.URL+"/library?server="+serverID),
		chromedp.WaitVisible(chromedp.CSS(`#dev-library[data-state="building"] .progress`)))
	if progress := b.text("#dev-library .progress"); !strings.HasPrefix(progress, "Building ") || !strings.Contains(progress, " of 5") {
		t.Errorf("the progress reads %q, want Building N of 5", progress)
	}
	b.check("library while building")
	b.do("waiting for the build's end", chromedp.WaitReady(chromedp.CSS(`#dev-library:not([data-state="building"])`)))
	if st := b.eval(`document.getElementById('dev-library').dataset.state`); st != "done" {
		t.Fatalf("the development library ended %v, want done; the page says %q", st, b.text("#dev-library"))
	}
	b.do("waiting for the catalogue", chromedp.WaitVisible(chromedp.CSS(`[data-module="text"]`)))
	if pro := b.text(`[data-module="httpjson"]`); !strings.Contains(pro, "Needs the pro plan") {
		t.Errorf("httpjson shows %q to a free account, want an upgrade", pro)
	}
	b.do("adding word_count", chromedp.Click(chromedp.CSS(`[data-module="text"] button[aria-label^="Add to server: word_count"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#status a`)))
	if msg := b.text("#status"); !strings.Contains(msg, "Added word_count to toolbox") {
		t.Errorf("status after adding: %q", msg)
	}
	b.check("library built")
}
