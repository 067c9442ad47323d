package web_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kilnhq/kiln/pkg/testmodules"
)

// axeDir holds the pinned axe-core (package.json and its lockfile).
const axeDir = "pkg/web/testdata/axe"

// axeSource returns axe-core's script, installed with `npm ci` once per
// lockfile in the user's cache directory. Without npm it returns "" (the
// accessibility checks are skipped) outside CI and fails in CI.
func axeSource(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("npm is required in CI for the accessibility checks: %v", err)
		}
		t.Log("npm is not installed: the axe-core accessibility checks are skipped")
		return ""
	}
	modules := testmodules.NodeModules(t, axeDir)
	b, err := os.ReadFile(filepath.Join(modules, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// axeRun runs axe-core's WCAG 2.1 A and AA rules and lists the serious and
// critical violations, one line each with the elements at fault.
const axeRun = `axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
  .then(r => r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ': ' + v.help + ' at ' + v.nodes.map(n => n.target.join(' ')).join(', ')))`

// phoneOverflow measures, at a phone's width, how far the page is wider
// than the screen (0: nothing to scroll sideways).
const phoneOverflow = `document.documentElement.scrollWidth - window.innerWidth`

// check runs the page-wide checks on the current page: axe-core finds no
// serious or critical violation, and at a phone's width (360 CSS pixels)
// nothing but a code block or a table scrolls sideways.
func (b *browser) check(page string) {
	b.t.Helper()
	if b.axe != "" {
		b.do("injecting axe-core", chromedp.Evaluate[chromedp.Void](b.axe))
		found, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](axeRun, chromedp.EvalAwaitPromise))
		if err != nil {
			b.t.Fatalf("running axe-core on %s: %v", page, err)
		}
		for _, v := range found {
			b.t.Errorf("accessibility, %s page: %s", page, v)
		}
	}
	b.do("narrowing to a phone", chromedp.EmulateViewport(360, 740))
	over, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](phoneOverflow))
	b.do("widening again", chromedp.EmulateViewport(1100, 760))
	if err != nil {
		b.t.Fatal(err)
	}
	if over > 0 {
		b.t.Errorf("%s page at a phone's width is %d px wider than the screen", page, over)
	}
}
