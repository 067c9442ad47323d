package web_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

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
	src := filepath.Join(testmodules.Root(), axeDir)
	lock, err := os.ReadFile(filepath.Join(src, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(lock)
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "kiln-web-axe", hex.EncodeToString(sum[:8]))
	script := filepath.Join(dir, "node_modules", "axe-core", "axe.min.js")
	if _, err := os.Stat(script); err != nil {
		install(t, src, dir)
	}
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// install runs npm ci for src's lockfile next to dir and renames the
// result into place, so a concurrent test binary never sees half of it.
func install(t *testing.T, src, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	for _, name := range []string{"package.json", "package-lock.json"} {
		data, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = tmp
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", axeDir, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil && !errors.Is(err, fs.ErrExist) {
		if _, statErr := os.Stat(dir); statErr != nil {
			t.Fatal(err)
		}
	}
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
