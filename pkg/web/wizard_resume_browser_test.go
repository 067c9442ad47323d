package web_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kilnhq/kiln/pkg/llm/llmtest"
	"github.com/kilnhq/kiln/pkg/service/servicetest"
	"github.com/kilnhq/kiln/pkg/wizard/eval/evalfake"
)

// TestBrowserWizardResumesStream: the wizard page's event stream is cut by
// the server side (a proxy in front of the node drops the first stream's
// connection right after its first event); the page reconnects with
// Last-Event-ID set to that event and shows the later events, each once,
// up to the tool passing.
func TestBrowserWizardResumesStream(t *testing.T) {
	b := newBrowser(t)
	fake := llmtest.New(t)
	evalfake.ScriptCountWords(fake)
	node := servicetest.Start(t, servicetest.Options{Env: map[string]string{"KILN_LLM_PROVIDERS": "openai:test-model@" + fake.OpenAIURL()}})
	cut := newStreamCutter(t, node.URL)
	firstAccount(t, b, cut.url)

	b.do("describing", chromedp.Navigate(cut.url+"/wizard"), loaded("#session-list"),
		chromedp.SendKeys(chromedp.ID("wz-description"), "count the words of a text"),
		chromedp.Click(chromedp.CSS(`#describe button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("wz-accept")))
	// The first stream is held after its first event until the page has
	// shown it, then dropped: a chunk arriving with the drop could be
	// discarded by the browser, and the page could not know it.
	b.do("accepting", chromedp.Click(chromedp.ID("wz-accept")),
		chromedp.Evaluate[chromedp.Void](waitForLogLine(""), chromedp.EvalAwaitPromise))
	cut.letGo()
	b.do("following the stream across the drop",
		chromedp.WaitVisible(chromedp.CSS(`[data-tool="count_words"] .badge.ok`)),
		chromedp.WaitVisible(chromedp.ID("wz-deploy-form")))
	// The log is filled by the last stream's events, and refreshed
	// after them: wait for the passing line before counting.
	b.do("waiting for the passing line", chromedp.Evaluate[chromedp.Void](waitForLogLine("count_words · tool · passed"), chromedp.EvalAwaitPromise))

	streams, dropped := cut.record()
	if !dropped {
		t.Fatal("no stream was dropped: the test proved nothing")
	}
	var (
		seen      []int64
		resumed   bool
		lastSoFar int64
	)
	for i, s := range streams {
		if s.lastEventID != lastSoFar {
			t.Errorf("stream %d asked from Last-Event-ID %d, want %d (the last event it was sent)", i, s.lastEventID, lastSoFar)
		}
		if i > 0 && streams[i-1].cut && len(s.ids) > 0 {
			resumed = true
		}
		for _, id := range s.ids {
			if id <= lastSoFar {
				t.Errorf("stream %d sent event %d again (after %d)", i, id, lastSoFar)
			}
			lastSoFar = id
			seen = append(seen, id)
		}
	}
	if !resumed {
		t.Errorf("no events came after the drop: streams %+v", streams)
	}
	lines, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#wz-log li').length`))
	if err != nil || lines != len(seen) {
		t.Errorf("the progress log has %d lines (%v), want one per event sent, %d: %v", lines, err, len(seen), seen)
	}
	b.check("wizard after a dropped stream")
}

// waitForLogLine is a script whose promise settles once the wizard's
// progress log has a line holding text.
func waitForLogLine(text string) string {
	return `new Promise((done) => {
		const log = document.getElementById('wz-log');
		const has = () => [...log.children].some((li) => li.textContent.includes(` + strconv.Quote(text) + `));
		if (has()) return done();
		new MutationObserver((_, o) => { if (has()) { o.disconnect(); done(); } }).observe(log, { childList: true });
	})`
}

// streamCutter is a reverse proxy in front of a node that drops the
// connection of the first wizard event stream right after its first event,
// and records what every stream asked for and was sent.
type streamCutter struct {
	url string
	// release, closed by the test, lets the held stream be dropped.
	release chan struct{}
	once    sync.Once
	mu      sync.Mutex
	streams []*streamRecord
}

type streamRecord struct {
	lastEventID int64
	ids         []int64
	cut         bool
}

func newStreamCutter(t *testing.T, target string) *streamCutter {
	t.Helper()
	to, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	c := &streamCutter{release: make(chan struct{})}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(to) },
		ModifyResponse: func(resp *http.Response) error {
			if !strings.HasSuffix(resp.Request.URL.Path, "/events") || resp.StatusCode != http.StatusOK {
				return nil
			}
			last, _ := strconv.ParseInt(resp.Request.Header.Get("Last-Event-ID"), 10, 64)
			c.mu.Lock()
			rec := &streamRecord{lastEventID: last, cut: len(c.streams) == 0}
			c.streams = append(c.streams, rec)
			c.mu.Unlock()
			resp.Body = &eventReader{src: resp.Body, c: c, rec: rec}
			return nil
		},
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	t.Cleanup(c.letGo) // runs first: a failed test must not leave the stream held
	c.url = srv.URL
	return c
}

// letGo lets the held stream be dropped.
func (c *streamCutter) letGo() { c.once.Do(func() { close(c.release) }) }

// record returns a copy of the streams seen and whether one was cut.
func (c *streamCutter) record() ([]streamRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]streamRecord, len(c.streams))
	dropped := false
	for i, s := range c.streams {
		out[i] = *s
		out[i].ids = append([]int64(nil), s.ids...)
		dropped = dropped || (s.cut && len(s.ids) > 0)
	}
	return out, dropped
}

var errStreamCut = errors.New("stream cut by the test")

// eventReader passes whole events through, noting their ids; on the cut
// stream it fails after the first event with an id, once the test
// releases it, which makes the proxy abort the connection mid-response.
type eventReader struct {
	src      io.ReadCloser
	c        *streamCutter
	rec      *streamRecord
	pending  []byte // read, not yet a whole event
	ready    []byte // whole events to hand out
	cutAfter bool
}

func (e *eventReader) Read(p []byte) (int, error) {
	for len(e.ready) == 0 {
		if e.cutAfter {
			<-e.c.release
			return 0, errStreamCut
		}
		buf := make([]byte, 4096)
		n, err := e.src.Read(buf)
		e.pending = append(e.pending, buf[:n]...)
		e.takeEvents()
		if err != nil && len(e.ready) == 0 {
			return 0, err
		}
	}
	n := copy(p, e.ready)
	e.ready = e.ready[n:]
	return n, nil
}

// takeEvents moves whole events from pending to ready, stopping after the
// first event with an id on the stream to cut.
func (e *eventReader) takeEvents() {
	for !e.cutAfter {
		end := bytes.Index(e.pending, []byte("\n\n"))
		if end < 0 {
			return
		}
		block := e.pending[:end+2]
		e.pending = e.pending[end+2:]
		e.ready = append(e.ready, block...)
		for _, line := range strings.Split(string(block), "\n") {
			if v, ok := strings.CutPrefix(line, "id: "); ok {
				id, _ := strconv.ParseInt(v, 10, 64)
				e.c.mu.Lock()
				e.rec.ids = append(e.rec.ids, id)
				e.cutAfter = e.rec.cut
				e.c.mu.Unlock()
			}
		}
	}
}

func (e *eventReader) Close() error { return e.src.Close() }
