package drills

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Bounds of the PostgreSQL drill.
const (
	// hangBound: no call may take longer while the database is away; a
	// client must get an answer rather than wait. A call waits up to 10
	// seconds for its execution row (mcphost's recordOutage).
	hangBound = 15 * time.Second
	// pgRecoveryBound: once PostgreSQL is back, every node serves calls
	// within this, unaided.
	pgRecoveryBound = 10 * time.Second
	// pgOutage is how long the database stays down.
	pgOutage = 2 * time.Second
)

// privatePostgres is a PostgreSQL cluster of the drill's own, so that the
// drill restarts it and not the machine's shared one.
type privatePostgres struct {
	bin, dir, port string
	asPostgres     bool // root runs the tools as the postgres user
}

// startPostgres runs initdb and starts a cluster on a free port.
func startPostgres(t *testing.T) *privatePostgres {
	t.Helper()
	initdb := need(t, "initdb", globBins()...)
	pg := &privatePostgres{bin: filepath.Dir(initdb), asPostgres: os.Geteuid() == 0}
	dir, err := os.MkdirTemp("", "kiln-drill-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pg.dir = dir
	if pg.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root needs the postgres user: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	_, pg.port, _ = strings.Cut(freeAddr(t), ":")
	pg.run(t, "initdb", "-D", pg.data(), "-A", "trust", "-U", "postgres", "--no-sync")
	pg.start(t)
	t.Cleanup(func() { pg.pgctl(t, "stop", "-m", "immediate") })
	return pg
}

func globBins() []string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	return dirs
}

func (pg *privatePostgres) data() string { return filepath.Join(pg.dir, "data") }

// url is the cluster's database URL.
func (pg *privatePostgres) url() string {
	return "postgres://postgres@127.0.0.1:" + pg.port + "/postgres?sslmode=disable"
}

// start starts the server and waits until it accepts connections.
func (pg *privatePostgres) start(t *testing.T) {
	t.Helper()
	pg.pgctl(t, "start", "-w", "-l", filepath.Join(pg.dir, "log"),
		"-o", "-p "+pg.port+" -k "+pg.dir+" -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200")
}

// stop stops the server, ending every connection (a restart's first half).
func (pg *privatePostgres) stop(t *testing.T) { pg.pgctl(t, "stop", "-w", "-m", "fast") }

func (pg *privatePostgres) pgctl(t *testing.T, args ...string) {
	t.Helper()
	pg.run(t, "pg_ctl", append([]string{"-D", pg.data()}, args...)...)
}

// run runs one of PostgreSQL's programs, as the postgres user under root.
func (pg *privatePostgres) run(t *testing.T, prog string, args ...string) {
	t.Helper()
	path := filepath.Join(pg.bin, prog)
	cmd := exec.Command(path, args...)
	if pg.asPostgres {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", prog, args, err, out)
	}
}

// TestPostgresRestart: the database restarts under load. Every call is
// answered within hangBound (a clean error while the database is away,
// never a hang), every answered call is in the execution log, /readyz says
// 503 meanwhile, and every node serves calls and follows deploys again
// within pgRecoveryBound of the database's return, unaided.
func TestPostgresRestart(t *testing.T) {
	heavy(t)
	pg := startPostgres(t)
	d := newDeployment(t, pg.url())
	// The drill's clients share one address: lift the per-address bound.
	nodes := []*node{d.start(t, "node0", "--max-conns-per-addr", "4096"), d.start(t, "node1", "--max-conns-per-addr", "4096")}
	d.pushLibrary(t, nodes[0].url, "1.0.0")
	tn := d.newTenant(t, nodes[0].url, "echo")
	for _, n := range nodes {
		untilCallable(t, tn, n.url, "echo", time.Now().Add(60*time.Second))
	}

	ctx, stop := context.WithCancel(context.Background())
	results := make([]chan *loadResult, len(nodes))
	for i, n := range nodes {
		results[i] = make(chan *loadResult, 1)
		go func() { results[i] <- tn.load(ctx, n.url, n.name, 250*time.Millisecond, 2*hangBound) }()
	}
	time.Sleep(time.Second) // load before the outage

	down := time.Now()
	pg.stop(t)
	for _, n := range nodes {
		if status, body := get(n.url + "/readyz"); status != http.StatusServiceUnavailable {
			t.Errorf("/readyz of %s with the database down: %d %s", n.name, status, body)
		}
	}
	time.Sleep(pgOutage) // the outage, under load
	pg.start(t)
	back := time.Now()
	recovered := make([]time.Duration, len(nodes))
	for i, n := range nodes {
		recovered[i] = untilCallable(t, tn, n.url, "echo", back.Add(pgRecoveryBound))
	}
	time.Sleep(time.Second) // load after the recovery
	stop()

	var answered []string
	for i, n := range nodes {
		r := <-results[i]
		kinds := map[string]int{}
		for _, f := range r.failures {
			kinds[failureKind(f.what)]++
		}
		t.Logf("%s: %d calls answered, %d failed %v; slowest %v; serving again %v after the database (down %v)",
			n.name, len(r.answered), len(r.failures), kinds, r.slowest.Round(time.Millisecond),
			recovered[i].Round(time.Millisecond), back.Sub(down).Round(time.Millisecond))
		if r.slowest > hangBound {
			t.Errorf("%s: a call took %v (bound %v)", n.name, r.slowest, hangBound)
		}
		for _, f := range r.failures {
			if failureKind(f.what) == "transport" {
				t.Errorf("%s: a call failed without an HTTP answer: %s", n.name, f.what)
			}
		}
		answered = append(answered, r.answered...)
		if recovered[i] > pgRecoveryBound {
			t.Errorf("%s served again only %v after the database came back", n.name, recovered[i])
		}
	}

	// The database was away for less than the execution log waits for it.
	assertLogged(t, pg.url(), tn, answered)

	// Deploys follow again: the notification connection came back.
	start := time.Now()
	tn.addTool(t, nodes[0].url, "echo", "after_restart")
	took := untilCallable(t, tn, nodes[1].url, "after_restart", start.Add(deployBound))
	t.Logf("a deploy after the restart reached the other node in %v", took.Round(time.Millisecond))
}

// failureKind groups a failed call's description for the log.
func failureKind(what string) string {
	status, rest, _ := strings.Cut(what, " ")
	if _, err := strconv.Atoi(status); err != nil {
		return "transport"
	}
	if i := strings.Index(rest, `"message":"`); i >= 0 {
		msg := rest[i+len(`"message":"`):]
		return status + " " + msg[:min(len(msg), 60)]
	}
	return status
}
