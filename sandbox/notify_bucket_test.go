package sandbox

import (
	"testing"
	"time"
)

// TestNotifyBucket: the rate limit is a token bucket on the time it is
// given: Burst at once, then PerSecond, never more than Burst saved up,
// and never past PerCall.
func TestNotifyBucket(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	n := notifySink{limits: NotifyLimits{PerCall: 6, Burst: 2, PerSecond: 1}}
	steps := []struct {
		after time.Duration
		want  bool
	}{
		{0, true}, {0, true}, {0, false}, // the burst
		{500 * time.Millisecond, false}, {time.Second, true}, {time.Second, false}, // one a second
		{time.Hour, true}, {time.Hour, true}, {time.Hour, false}, // an hour saves up only the burst
		{2 * time.Hour, true}, {3 * time.Hour, false}, // the sixth is the last of the call
	}
	for i, s := range steps {
		if got := n.admit(t0.Add(s.after)); got != s.want {
			t.Fatalf("step %d (+%v): admit = %v, want %v", i, s.after, got, s.want)
		}
	}
	if n.stats != (NotifyStats{Sent: 6, Dropped: 5}) {
		t.Fatalf("stats %+v", n.stats)
	}
}
