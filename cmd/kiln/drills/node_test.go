package drills

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kilnhq/kiln/pkg/secrets"
	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/testmodules"
)

// deployment is what the nodes of one drill share: the database, the
// secrets every node of a deployment must agree on, and the library key.
type deployment struct {
	vars       map[string]string
	token      string
	libraryKey signing.PrivateKey
}

// newDeployment makes the shared settings of nodes on databaseURL (empty:
// SQLite in each node's data dir, for a single node).
func newDeployment(t *testing.T, databaseURL string) *deployment {
	t.Helper()
	master, err := secrets.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	lib, err := signing.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	token := "drill-" + rand.Text() + rand.Text()
	return &deployment{token: token, libraryKey: lib, vars: map[string]string{
		"KILN_ENV":                  "development",
		"KILN_MASTER_KEY":           master.Base64(),
		"KILN_OPERATOR_TOKEN":       token,
		"KILN_LIBRARY_KEYS":         lib.Public().String(),
		"KILN_DATABASE_URL":         databaseURL,
		"KILN_EGRESS_ALLOW_PRIVATE": "127.0.0.0/8",
		// Drills count calls in their hundreds from one address.
		"KILN_MCP_IP_REQUESTS_PER_MINUTE": "1000000",
	}}
}

// node is one `kiln serve` process.
type node struct {
	name, addr, url, dataDir string
	cmd                      *exec.Cmd
	log                      *testmodules.LockedBuffer
	exited                   chan struct{}
}

// start runs a node with the deployment's settings and args, and waits
// until /readyz answers 200. The node is killed at the end of the test if
// it is still running; its log is printed if the test failed.
func (d *deployment) start(t *testing.T, name string, args ...string) *node {
	t.Helper()
	n := d.spawn(t, name, "", args...)
	n.waitReady(t, 60*time.Second)
	return n
}

// spawn starts a node without waiting for it; dataDir "" makes one.
func (d *deployment) spawn(t *testing.T, name, dataDir string, args ...string) *node {
	t.Helper()
	if dataDir == "" {
		dataDir = filepath.Join(t.TempDir(), name)
	}
	addr := freeAddr(t)
	n := &node{name: name, addr: addr, url: "http://" + addr, dataDir: dataDir, log: &testmodules.LockedBuffer{}, exited: make(chan struct{})}
	n.cmd = exec.Command(kilnBin, append([]string{"serve", "--addr", addr, "--data-dir", dataDir}, args...)...)
	n.cmd.Env = d.environ()
	n.cmd.Stdout, n.cmd.Stderr = n.log, n.log
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		_ = n.cmd.Wait() // the state is read from n.cmd.ProcessState
		close(n.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-n.exited:
		default:
			_ = n.cmd.Process.Kill()
			<-n.exited
		}
		if t.Failed() {
			t.Logf("log of %s:\n%s", name, tail(n.log.String(), 6000))
		}
	})
	return n
}

// environ is the process environment of a node: this one's, without any
// KILN_ setting, plus the deployment's.
func (d *deployment) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KILN_") {
			env = append(env, kv)
		}
	}
	for k, v := range d.vars {
		env = append(env, k+"="+v)
	}
	return env
}

// waitReady polls /readyz until it answers 200.
func (n *node) waitReady(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		select {
		case <-n.exited:
			t.Fatalf("%s exited before it was ready: %v", n.name, n.cmd.ProcessState)
		default:
		}
		if status, _ := get(n.url + "/readyz"); status == http.StatusOK {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not ready within %v", n.name, within)
		}
		time.Sleep(50 * time.Millisecond) // polling an outside process
	}
}

// signal sends sig to the node.
func (n *node) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := n.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling %s: %v", n.name, err)
	}
}

// kill9 kills the node and every process it started (a go build's own
// process group included), as a machine failure would.
func (n *node) kill9(t *testing.T) {
	t.Helper()
	children := descendants(n.cmd.Process.Pid)
	n.signal(t, syscall.SIGKILL)
	<-n.exited
	for _, pid := range children {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// waitExit waits for the node to exit and returns its status, failing the
// test if it takes longer than within.
func (n *node) waitExit(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-n.exited:
		return n.cmd.ProcessState.ExitCode()
	case <-time.After(within):
		t.Fatalf("%s did not exit within %v", n.name, within)
		return -1
	}
}

// descendants lists the processes below pid, read from /proc.
func descendants(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces, so cut at ')'.
		s := string(data)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		var child, parent int
		var state string
		if _, err := fmt.Sscan(s[:strings.IndexByte(s, ' ')], &child); err != nil {
			continue
		}
		if _, err := fmt.Sscan(strings.TrimSpace(s[i+1:]), &state, &parent); err != nil {
			continue
		}
		children[parent] = append(children[parent], child)
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(pid)
	return out
}

// rssBytes is a process's resident memory, from /proc.
func rssBytes(t *testing.T, pid int) int64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscan(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), &kb); err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmRSS for %d", pid)
	return 0
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
