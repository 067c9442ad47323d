package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kilnhq/kiln/pkg/llm/llmtest"
	"github.com/kilnhq/kiln/pkg/service/servicetest"
	"github.com/kilnhq/kiln/pkg/wizard/eval/evalfake"
)

// TestBrowserWizard goes from a sentence to a deployed server with a fake
// LLM provider: the proposal reviewed (its schema previewed as the form a
// caller gets), generation followed live to a passed tool built by the
// real Go toolchain, its source shown, and the tool deployed to a new
// server whose page lists it.
func TestBrowserWizard(t *testing.T) {
	b := newBrowser(t)
	fake := llmtest.New(t)
	evalfake.ScriptCountWords(fake)
	node := servicetest.Start(t, servicetest.Options{Env: map[string]string{"KILN_LLM_PROVIDERS": "openai:test-model@" + fake.OpenAIURL()}})
	firstAccount(t, b, node.URL)

	b.do("describing", chromedp.Navigate(node.URL+"/wizard"), loaded("#session-list"),
		chromedp.SendKeys(chromedp.ID("wz-description"), "count the words of a text"),
		chromedp.Click(chromedp.CSS(`#describe button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("wz-accept")))
	if preview := b.text(`[data-spec="0"] .preview`); !strings.Contains(preview, "text") || !strings.Contains(preview, "The text") {
		t.Errorf("the schema preview shows %q, want the text field and its description", preview)
	}
	b.check("wizard review")
	b.do("accepting", chromedp.Click(chromedp.ID("wz-accept")),
		chromedp.WaitVisible(chromedp.CSS(`[data-tool="count_words"] .badge.ok`)),
		chromedp.WaitVisible(chromedp.ID("wz-deploy-form")))
	if src := b.text(`[data-tool="count_words"] .editor`); !strings.Contains(src, "main.go") {
		t.Errorf("the passed tool's editor shows %q", src)
	}
	if log := b.text("#wz-log"); !strings.Contains(log, "count_words · tool · passed") {
		t.Errorf("the progress log %q lacks the tool passing", log)
	}
	b.screenshot("wizard")
	b.check("wizard ready")
	fixAtTheLine(t, b)
	b.do("deploying", chromedp.SendKeys(chromedp.ID("wz-server-name"), "words"),
		chromedp.Click(chromedp.CSS(`#wz-deploy-form button[type="submit"]`)),
		chromedp.Click(chromedp.CSS(`#wz-deployed a`)),
		chromedp.WaitVisible(chromedp.ID("connect-h")), loaded("#tool-list"))
	if tools := b.text("#tool-list"); !strings.Contains(tools, "count_words") || !strings.Contains(tools, "Go source") {
		t.Errorf("the deployed server's tools: %q", tools)
	}
}

// fixAtTheLine saves a source the policy refuses: the problem is shown at
// its line, and choosing it puts the cursor there; the good source saved
// again passes again.
func fixAtTheLine(t *testing.T, b *browser) {
	t.Helper()
	editor := `[data-tool="count_words"] textarea`
	save := `[data-tool="count_words"] .editor > button`
	bad := strings.Replace(evalfake.CountWordsSource, "\t\"strings\"\n", "\t\"strings\"\n\t\"os/exec\"\n", 1)
	b.do("saving a refused source", chromedp.SetValue(chromedp.CSS(editor), bad), chromedp.Click(chromedp.CSS(save)),
		chromedp.WaitVisible(chromedp.CSS(`[data-tool="count_words"] ul.problems button`)))
	problem := b.text(`[data-tool="count_words"] ul.problems li`)
	if !strings.Contains(problem, "main.go:6") || !strings.Contains(problem, "os/exec") {
		t.Errorf("the problem reads %q, want it at main.go:6 about os/exec", problem)
	}
	b.do("going to the line", chromedp.Click(chromedp.CSS(`[data-tool="count_words"] ul.problems button`)))
	line, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](
		`(() => { const a = document.activeElement; return a.value.slice(a.selectionStart, a.selectionEnd); })()`))
	if err != nil || !strings.Contains(line, "os/exec") {
		t.Errorf("the selection after choosing the problem is %q (%v), want the import's line", line, err)
	}
	b.do("saving the fixed source", chromedp.SetValue(chromedp.CSS(editor), evalfake.CountWordsSource), chromedp.Click(chromedp.CSS(save)),
		chromedp.WaitVisible(chromedp.CSS(`[data-tool="count_words"] .badge.ok`)),
		chromedp.WaitVisible(chromedp.ID("wz-deploy-form")))
}
