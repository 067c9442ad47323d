package sandbox_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/sandbox"
)

// recorder is a Notifier that keeps what it is told.
type recorder struct {
	progress []sandbox.Progress
	logs     []sandbox.LogMessage
}

func (r *recorder) Progress(p sandbox.Progress) { r.progress = append(r.progress, p) }
func (r *recorder) Log(m sandbox.LogMessage)    { r.logs = append(r.logs, m) }
func notifyArgs(n int) string                   { return `{"case":` + string(rune('0'+n)) + `}` }
func noRefill(burst int) sandbox.NotifyLimits {
	return sandbox.NotifyLimits{Burst: burst, PerSecond: 1e-9}
}
func notifyLimits(n sandbox.NotifyLimits) sandbox.Limits {
	l := limits()
	l.Notify = n
	return l
}

func notifyCall(t *testing.T, e *sandbox.Engine, m *sandbox.Module, n int, lim sandbox.Limits) (sandbox.Result, *recorder) {
	t.Helper()
	rec := &recorder{}
	res, err := e.Call(context.Background(), m, sandbox.Request{Tool: "notify", Args: []byte(notifyArgs(n)), Limits: lim, Notify: rec})
	if err != nil {
		t.Fatal(err)
	}
	return res, rec
}

// TestNotificationLimits: a module that floods its caller with progress
// reports or log messages (ABI v2) is held to the call's burst and rate
// and to its count per call; what passes arrives in order, and the rest
// is counted as dropped while the call goes on to its answer.
func TestNotificationLimits(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "notify"))

	// The burst, with no refill: exactly the first ten reports.
	res, rec := notifyCall(t, e, m, 1, notifyLimits(noRefill(10)))
	if res.Outcome != sandbox.OutcomeOK || res.Notifications != (sandbox.NotifyStats{Sent: 10, Dropped: 4990}) || len(rec.progress) != 10 {
		t.Fatalf("burst: outcome %v (%s), %+v, %d reports", res.Outcome, res.Detail, res.Notifications, len(rec.progress))
	}
	for i, p := range rec.progress {
		if p != (sandbox.Progress{Progress: float64(i + 1), Total: 5000, Message: "step"}) {
			t.Fatalf("report %d: %+v", i, p)
		}
	}

	// The count per call, with a burst that would allow more.
	res, rec = notifyCall(t, e, m, 1, notifyLimits(sandbox.NotifyLimits{PerCall: 7, Burst: 1000}))
	if res.Notifications != (sandbox.NotifyStats{Sent: 7, Dropped: 4993}) || len(rec.progress) != 7 {
		t.Fatalf("per call: %+v, %d reports", res.Notifications, len(rec.progress))
	}

	// The defaults hold a flood too.
	res, _ = notifyCall(t, e, m, 1, limits())
	if s := res.Notifications; s.Sent+s.Dropped != 5000 || s.Sent > sandbox.DefaultNotifyPerCall || s.Dropped == 0 {
		t.Fatalf("defaults: %+v", s)
	}

	// Log messages share the limits; every one is in the execution log,
	// marked live (already offered to the caller), sent or not.
	res, rec = notifyCall(t, e, m, 2, notifyLimits(noRefill(3)))
	if res.Notifications != (sandbox.NotifyStats{Sent: 3, Dropped: 4997}) || len(rec.logs) != 3 {
		t.Fatalf("logs: %+v, %d messages", res.Notifications, len(rec.logs))
	}
	if l := rec.logs[0]; l.Level != "info" || l.Logger != "w" || string(l.Data) != `"line"` {
		t.Fatalf("log message %+v", l)
	}
	sent := 0
	for _, l := range res.Logs {
		if !l.Live || l.Message != "line" || l.Logger != "w" || l.Level != "info" {
			t.Fatalf("execution log entry %+v", l)
		}
		if l.Sent {
			sent++
		}
	}
	if len(res.Logs) != 5000 || sent != 3 {
		t.Fatalf("%d entries in the execution log, %d sent", len(res.Logs), sent)
	}
}

// TestNotificationRules: progress must increase (MCP), sizes are capped,
// and a misused function is a trap that names it.
func TestNotificationRules(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "notify"))

	res, rec := notifyCall(t, e, m, 3, limits())
	if res.Outcome != sandbox.OutcomeOK || res.Notifications != (sandbox.NotifyStats{Sent: 2, Dropped: 2}) ||
		len(rec.progress) != 2 || rec.progress[0].Progress != 5 || rec.progress[1] != (sandbox.Progress{Progress: 6}) {
		t.Fatalf("increasing: %+v, %+v", res.Notifications, rec.progress)
	}

	res, rec = notifyCall(t, e, m, 4, limits())
	if res.Notifications != (sandbox.NotifyStats{Sent: 1, Dropped: 1}) || len(rec.logs) != 0 || len(res.Logs) != 0 ||
		len(rec.progress) != 1 || rec.progress[0].Message != strings.Repeat("a", 1024) {
		t.Fatalf("sizes: %+v, %d logs, %d entries, %+v", res.Notifications, len(rec.logs), len(res.Logs), len(rec.progress))
	}

	for n, want := range map[int]string{5: "kiln.progress: progress NaN", 6: "level 8 is not 0-7", 7: "not a JSON object"} {
		res, _ := notifyCall(t, e, m, n, limits())
		if res.Outcome != sandbox.OutcomeTrap || !strings.Contains(res.Detail, want) {
			t.Errorf("case %d: outcome %v (%s), want a trap saying %q", n, res.Outcome, res.Detail, want)
		}
	}
}

// TestNotificationsPayFuel: every notification costs the host work, so it
// costs fuel whether it is sent or dropped, and a flood ends with the
// call's budget.
func TestNotificationsPayFuel(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "notify"))
	res, _ := notifyCall(t, e, m, 1, limits())
	if res.FuelUsed < 5000*10_000 {
		t.Fatalf("5000 reports used %d fuel", res.FuelUsed)
	}
	lim := limits()
	lim.Fuel = 10_000_000
	if res, _ := notifyCall(t, e, m, 2, lim); res.Outcome != sandbox.OutcomeFuelExhausted {
		t.Fatalf("outcome %v (%s), want fuel exhausted", res.Outcome, res.Detail)
	}
}

// TestNotificationsWithoutNotifier: a call nobody listens to (Notify nil)
// still applies the rules, and log messages still reach the execution log.
func TestNotificationsWithoutNotifier(t *testing.T) {
	e := newEngine(t, sandbox.Config{})
	m := load(t, e, wat(t, "notify"))
	res := call(t, e, m, "notify", notifyArgs(2), notifyLimits(noRefill(2)))
	if res.Outcome != sandbox.OutcomeOK || res.Notifications.Sent != 2 || len(res.Logs) != 5000 {
		t.Fatalf("outcome %v, %+v, %d entries", res.Outcome, res.Notifications, len(res.Logs))
	}
}
