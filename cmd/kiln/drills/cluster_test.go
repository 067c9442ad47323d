package drills

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/store/storetest"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// cluster is nodes of one deployment on one PostgreSQL, behind HAProxy.
type cluster struct {
	d     *deployment
	dbURL string
	nodes []*node
	proxy string // the proxy's URL
}

// postgres returns the URL of an empty schema on the test PostgreSQL
// (KILN_TEST_DATABASE_URL), failing in CI and skipping elsewhere without it.
func postgres(t *testing.T) string {
	t.Helper()
	u, ok := storetest.PostgresURL(t)
	if !ok {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI", storetest.EnvURL)
		}
		t.Skipf("%s is not set", storetest.EnvURL)
	}
	return u
}

// startCluster starts n nodes on dbURL (the first alone, so that it
// migrates) and HAProxy in front of them.
func startCluster(t *testing.T, dbURL string, n int, args ...string) *cluster {
	t.Helper()
	haproxy := need(t, "haproxy", "/usr/sbin")
	c := &cluster{d: newDeployment(t, dbURL), dbURL: dbURL}
	c.d.vars["KILN_TRUSTED_PROXIES"] = "127.0.0.1/32"
	for i := range n {
		c.nodes = append(c.nodes, c.d.start(t, "node"+strconv.Itoa(i), args...))
	}
	c.proxy = startHAProxy(t, haproxy, c.nodes)
	return c
}

// startHAProxy runs HAProxy in the foreground in front of the nodes:
// round robin, a node taken out after two failed /readyz checks 500 ms
// apart, and a request whose connection failed sent to another node
// (never one that reached a node: a tool call is not idempotent).
func startHAProxy(t *testing.T, haproxy string, nodes []*node) string {
	t.Helper()
	addr := freeAddr(t)
	var servers strings.Builder
	for _, n := range nodes {
		fmt.Fprintf(&servers, "  server %s %s check\n", n.name, n.addr)
	}
	cfg := fmt.Sprintf(`global
  maxconn 2000
defaults
  mode http
  timeout connect 1s
  timeout check 2s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch 1
  option forwardfor
frontend kiln
  bind %s
  default_backend nodes
backend nodes
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 500ms fall 2 rise 2
%s`, addr, servers.String())
	dir := t.TempDir()
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	log := &testmodules.LockedBuffer{}
	cmd := exec.Command(haproxy, "-db", "-f", path)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting haproxy: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		if t.Failed() {
			t.Logf("haproxy:\n%s", tail(log.String(), 3000))
		}
	})
	url := "http://" + addr
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if status, _ := get(url + "/readyz"); status == http.StatusOK {
			return url
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not serve within 10s:\n%s", log.String())
		}
	}
}

// loadResult is what a load generator saw.
type loadResult struct {
	mu       sync.Mutex
	answered []string        // texts of calls that succeeded
	failures []loadFailure   // calls that did not
	slowest  time.Duration   // the longest call
	times    []time.Duration // every call's duration
}

type loadFailure struct {
	at   time.Time
	took time.Duration
	what string
}

// load calls echo on base every interval, each call with a text of its
// own, until ctx ends; each call is bounded by callTimeout.
func (tn tenant) load(ctx context.Context, base, prefix string, interval, callTimeout time.Duration) *loadResult {
	r := &loadResult{}
	var wg sync.WaitGroup
	t := time.NewTicker(interval)
	defer t.Stop()
	c := &http.Client{Timeout: callTimeout}
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			wg.Wait()
			c.CloseIdleConnections() // the node's goroutines for them end too
			return r
		case <-t.C:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			text := fmt.Sprintf("%s-%d", prefix, i)
			start := time.Now()
			res, err := tn.call(context.Background(), c, base, "echo", map[string]string{"text": text})
			took := time.Since(start)
			r.mu.Lock()
			defer r.mu.Unlock()
			r.times = append(r.times, took)
			r.slowest = max(r.slowest, took)
			switch {
			case err != nil:
				r.failures = append(r.failures, loadFailure{start, took, err.Error()})
			case !res.ok():
				r.failures = append(r.failures, loadFailure{start, took, fmt.Sprintf("%d %s %s", res.Status, res.RPCErr, tail(res.Text, 200))})
			default:
				r.answered = append(r.answered, text)
			}
		}()
	}
}

// percentile of the call durations (p in 0..1).
func (r *loadResult) percentile(p float64) time.Duration {
	if len(r.times) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), r.times...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, int(p*float64(len(s))))]
}

// assertLogged checks that every answered call is in the execution log.
func assertLogged(t *testing.T, dbURL string, tn tenant, answered []string) {
	t.Helper()
	logged := map[string]bool{}
	ctxRows := executionsAll(t, dbURL, tn)
	for _, args := range ctxRows {
		logged[args] = true
	}
	var missing []string
	for _, text := range answered {
		if !logged[text] {
			missing = append(missing, text)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d answered calls are not in the execution log, such as %v", len(missing), len(answered), missing[:min(5, len(missing))])
	}
}

// executionsAll returns the echo texts of every logged call of the
// tenant's server, paging through the log.
func executionsAll(t *testing.T, dbURL string, tn tenant) []string {
	t.Helper()
	var texts []string
	for _, e := range executions(t, dbURL, "", tn) {
		texts = append(texts, echoText(string(e.Arguments)))
	}
	return texts
}

// echoText pulls the text out of an echo call's logged arguments.
func echoText(args string) string {
	var a struct{ Text string }
	_ = json.Unmarshal([]byte(args), &a) // another tool's arguments: ""
	return a.Text
}

// metric reads one sample of a node's /metrics (with the operator
// token); -1 when absent.
func metric(t *testing.T, n *node, token, name string) float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, n.url+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("metrics of %s: %v", n.name, err)
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return v
		}
	}
	return -1
}
