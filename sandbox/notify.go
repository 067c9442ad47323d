package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
)

// Notifier receives what a module tells its caller while the call runs
// (ABI v2: kiln.progress and kiln.log_message), once the sandbox has
// checked it and found it within the call's NotifyLimits. Its methods run
// on the call's own goroutine, between two instructions of the module, so
// they must return at once: queue, never send. mcphost forwards them to
// the MCP client as notifications; `kiln run` prints them.
type Notifier interface {
	Progress(Progress)
	Log(LogMessage)
}

// Progress is one progress report (MCP notifications/progress).
type Progress struct {
	// Progress is the progress so far; each accepted report has a larger
	// one than the last.
	Progress float64
	// Total is the progress at which the work is done; 0 when unknown.
	Total float64
	// Message is an optional sentence for people (at most
	// maxProgressMessage bytes of valid UTF-8).
	Message string
}

// LogMessage is one log message for the caller (MCP notifications/message).
type LogMessage struct {
	// Level is an MCP logging level: "debug" ... "emergency".
	Level string
	// Logger names the part of the tool that logs; "" lets the front end
	// name it (mcphost uses the tool's name).
	Logger string
	// Data is the message: any JSON value, often a string or an object.
	Data json.RawMessage
}

// NotifyLimits bound the notifications of one call, so that a module cannot
// flood its caller (or make the host encode and send without end). A
// notification past a limit is dropped, never an error: the call goes on,
// and Result.Notifications counts what was dropped. The zero value means
// the defaults.
type NotifyLimits struct {
	// PerCall caps the notifications of one call (default 1000).
	PerCall int
	// Burst and PerSecond are a token bucket: a call may send Burst
	// notifications at once, and then PerSecond on average (defaults 32
	// and 10: enough for a progress bar that moves ten times a second).
	Burst     int
	PerSecond float64
}

// Defaults of NotifyLimits.
const (
	DefaultNotifyPerCall   = 1000
	DefaultNotifyBurst     = 32
	DefaultNotifyPerSecond = 10
)

func (l NotifyLimits) withDefaults() NotifyLimits {
	if l.PerCall <= 0 {
		l.PerCall = DefaultNotifyPerCall
	}
	if l.Burst <= 0 {
		l.Burst = DefaultNotifyBurst
	}
	if !(l.PerSecond > 0) { // also NaN
		l.PerSecond = DefaultNotifyPerSecond
	}
	return l
}

// NotifyStats counts a call's notifications.
type NotifyStats struct {
	// Sent were handed to the Notifier (or would have been, without one).
	Sent int
	// Dropped were refused by a limit: the rate, the count per call, the
	// size of a log message, or a progress value that did not increase.
	Dropped int
}

// Sizes of notifications, in bytes. A progress message is cut to its cap
// (at a character boundary), as log lines are; a log message document is
// JSON, which cannot be cut, so a larger one is dropped unread.
const (
	maxProgressMessage = 1 << 10
	maxLogMessage      = 4 << 10
)

// notifyCost is the fuel every kiln.progress and kiln.log_message call
// pays on top of its bytes: the host's work for one notification (decode,
// JSON-encode, write an SSE event) is some microseconds, the time of about
// ten thousand guest instructions. It is charged whether or not the
// notification is sent, so a flooding loop also burns its fuel.
const notifyCost = 10_000

// mcpLevels are the MCP (syslog) logging levels, by their ABI number.
var mcpLevels = [...]string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// notifySink applies one call's NotifyLimits. Its zero value applies the
// defaults and sends nowhere (describe, snapshots).
type notifySink struct {
	to      Notifier
	limits  NotifyLimits
	ready   bool
	tokens  float64
	last    time.Time
	stats   NotifyStats
	started bool    // a progress report was accepted
	prev    float64 // the last accepted progress
}

// admit reports whether one more notification may go at now, and counts it.
func (n *notifySink) admit(now time.Time) bool {
	if !n.ready {
		n.limits = n.limits.withDefaults()
		n.tokens, n.last, n.ready = float64(n.limits.Burst), now, true
	}
	if elapsed := now.Sub(n.last); elapsed > 0 {
		n.tokens = min(float64(n.limits.Burst), n.tokens+elapsed.Seconds()*n.limits.PerSecond)
		n.last = now
	}
	if n.stats.Sent >= n.limits.PerCall || n.tokens < 1 {
		n.stats.Dropped++
		return false
	}
	n.tokens--
	n.stats.Sent++
	return true
}

// progress checks and passes on one progress report.
func (n *notifySink) progress(p Progress, now time.Time) {
	if n.started && !(p.Progress > n.prev) {
		// MCP: progress must increase with each notification.
		n.stats.Dropped++
		return
	}
	if !n.admit(now) {
		return
	}
	n.started, n.prev = true, p.Progress
	if n.to != nil {
		n.to.Progress(p)
	}
}

// log passes on one log message; false when a limit dropped it.
func (n *notifySink) log(m LogMessage, now time.Time) bool {
	if !n.admit(now) {
		return false
	}
	if n.to != nil {
		n.to.Log(m)
	}
	return true
}

// hostProgress is kiln.progress(progress: f64, total: f64, ptr, len): a
// progress report with an optional message (len 0 for none). A total of 0
// or less means unknown. NaN or infinite values are a misuse (a trap): JSON
// cannot carry them.
func hostProgress(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	progress, total := api.DecodeF64(stack[0]), api.DecodeF64(stack[1])
	ptr, n := api.DecodeU32(stack[2]), api.DecodeU32(stack[3])
	if math.IsNaN(progress) || math.IsInf(progress, 0) || math.IsNaN(total) || math.IsInf(total, 0) {
		panic(&hostError{fmt.Sprintf("kiln.progress: progress %v and total %v must be finite numbers", progress, total)})
	}
	if uint64(ptr)+uint64(n) > uint64(mod.Memory().Size()) {
		readGuest(mod, "progress", ptr, n) // the range is outside memory: a trap
	}
	msg := readGuest(mod, "progress", ptr, min(n, maxProgressMessage))
	s.notify.progress(Progress{Progress: progress, Total: max(total, 0), Message: cutUTF8(msg)}, time.Now())
}

// hostLogMessage is kiln.log_message(level, ptr, len): one log message for
// the caller, a JSON document {"logger": "...", "data": ...}, which the
// call's execution log also keeps. level is 0 debug ... 7 emergency.
func hostLogMessage(ctx context.Context, mod api.Module, stack []uint64) {
	s := stateFrom(ctx)
	level, ptr, n := api.DecodeU32(stack[0]), api.DecodeU32(stack[1]), api.DecodeU32(stack[2])
	if int(level) >= len(mcpLevels) {
		panic(&hostError{fmt.Sprintf("kiln.log_message: level %d is not 0-7", level)})
	}
	if n > maxLogMessage {
		s.notify.stats.Dropped++
		return
	}
	doc := readGuest(mod, "log_message", ptr, n)
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	var m struct {
		Logger string          `json:"logger"`
		Data   json.RawMessage `json:"data"`
	}
	if err := dec.Decode(&m); err != nil || dec.More() || len(m.Data) == 0 {
		panic(&hostError{"kiln.log_message: the message is not a JSON object {\"logger\": string, \"data\": any JSON value}"})
	}
	msg := LogMessage{Level: mcpLevels[level], Logger: m.Logger, Data: m.Data}
	sent := s.notify.log(msg, time.Now())
	s.logs.message(msg, sent)
}

// cutUTF8 makes a string of b, cut back to a character boundary when the
// cap cut it mid-character, with invalid bytes replaced.
func cutUTF8(b []byte) string {
	for i := 0; i < utf8.UTFMax && len(b) > 0 && !utf8.Valid(b); i++ {
		r, size := utf8.DecodeLastRune(b)
		if r != utf8.RuneError || size != 1 {
			break
		}
		b = b[:len(b)-1]
	}
	return validUTF8(b)
}
