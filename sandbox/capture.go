package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"unicode/utf8"
)

// errOutputTooLarge ends a call from inside a host function. wazero turns a
// panic in a host function into an error from the call, wrapping it with %w
// (the same mechanism proc_exit uses), so the module stops at once instead of
// looping on failed writes.
var errOutputTooLarge = errors.New("output too large")

// meteredWriter charges fuel for WASI writes (stdout, stderr) before
// passing them on.
type meteredWriter struct {
	w     io.Writer
	state *callState
}

func (m meteredWriter) Write(p []byte) (int, error) {
	m.state.meter.charge(copyCost(uint32(min(len(p), math.MaxUint32))))
	return m.w.Write(p)
}

// resultWriter collects a plain module's stdout, which is its result.
type resultWriter struct {
	buf   bytes.Buffer
	limit int
}

func (w *resultWriter) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.limit {
		panic(errOutputTooLarge)
	}
	return w.buf.Write(p)
}

// logSink gathers everything a call logs under one byte budget. Past the
// budget it drops data but reports success: a chatty tool is not an error.
type logSink struct {
	budget    int
	entries   []LogEntry
	console   bytes.Buffer
	truncated bool
}

// take returns how much of n bytes still fits in the budget.
func (s *logSink) take(n int) int {
	if n > s.budget {
		n = s.budget
		s.truncated = true
	}
	s.budget -= n
	return n
}

// Write implements io.Writer for stdout and stderr.
func (s *logSink) Write(p []byte) (int, error) {
	s.console.Write(p[:s.take(len(p))])
	return len(p), nil
}

// maxLogLine caps one line from the log host function.
const maxLogLine = 4 << 10

var levelNames = [...]string{"debug", "info", "warn", "error"}

func (s *logSink) log(level uint32, msg []byte) {
	if len(msg) > maxLogLine {
		msg = msg[:maxLogLine]
		s.truncated = true
	}
	n := s.take(len(msg))
	if n == 0 && len(msg) > 0 {
		return
	}
	name := "info"
	if int(level) < len(levelNames) {
		name = levelNames[level]
	}
	s.entries = append(s.entries, LogEntry{Level: name, Message: validUTF8(msg[:n])})
}

// message keeps an ABI v2 log message in the execution log, under the same
// budget as log lines: the data as text when it is a JSON string, else as
// compact JSON. sent says whether it went to the caller (see LogEntry.Live).
func (s *logSink) message(m LogMessage, sent bool) {
	var text string
	if json.Unmarshal(m.Data, &text) != nil {
		var buf bytes.Buffer
		if json.Compact(&buf, m.Data) != nil { // checked by the decoder: cannot fail
			return
		}
		text = buf.String()
	}
	n := s.take(len(text))
	if n == 0 && len(text) > 0 {
		return
	}
	s.entries = append(s.entries, LogEntry{Level: m.Level, Logger: m.Logger, Message: cutUTF8([]byte(text[:n])), Live: true, Sent: sent})
}

func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string(bytes.ToValidUTF8(b, []byte("\uFFFD")))
}
