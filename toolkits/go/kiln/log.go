package kiln

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Level is the severity of a log message: MCP's logging levels, which are
// syslog's (RFC 5424), from least to most severe.
type Level uint32

// Levels. The host numbers them the same way (toolkits/ABI.md, log_message).
const (
	LevelDebug Level = iota
	LevelInfo
	LevelNotice
	LevelWarning
	LevelError
	LevelCritical
	LevelAlert
	LevelEmergency

	// LevelWarn is LevelWarning, by the name earlier toolkits used.
	LevelWarn = LevelWarning
)

var levelNames = [...]string{"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}

// String returns the level's MCP name, such as "warning".
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return "level(" + strconv.Itoa(int(l)) + ")"
}

// maxLogMessage is the largest log message document the host accepts
// (toolkits/ABI.md); Log shortens a message rather than have it dropped.
const maxLogMessage = 4 << 10

// Log sends a log message to the agent's client, while the tool runs, as
// an MCP notifications/message; the server's execution log keeps it too.
// attrs are key-value pairs, as log/slog takes them:
//
//	kiln.Log(ctx, kiln.LevelInfo, "fetched a page", "page", 3, "items", 20)
//
// sends the data {"msg": "fetched a page", "page": 3, "items": 20}; with no
// attrs the data is the message alone. The client decides which levels it
// wants (on protocol revisions before 2026-07-28, Kiln sends info and
// above), and the host bounds how many messages a call may send (toolkits/
// ABI.md): a tool that logs in a tight loop loses messages, never its call.
// A message larger than the host accepts is shortened, its attrs dropped.
func Log(ctx context.Context, level Level, msg string, attrs ...any) {
	Logger{}.Log(ctx, level, msg, attrs...)
}

// Logf formats a message and sends it as Log does, without attrs.
func Logf(level Level, format string, args ...any) {
	Log(context.Background(), level, fmt.Sprintf(format, args...))
}

// Logger sends log messages under a name, MCP's "logger" field; the zero
// Logger leaves the naming to the host, which uses the tool's name.
//
//	var cache = kiln.Logger{Name: "cache"}
//	cache.Log(ctx, kiln.LevelDebug, "miss", "key", key)
type Logger struct{ Name string }

// Log sends a log message as the package's Log does, under l's name.
func (l Logger) Log(ctx context.Context, level Level, msg string, attrs ...any) {
	if level > LevelEmergency {
		level = LevelEmergency
	}
	hostFrom(ctx).logMessage(level, logDocument(l.Name, msg, attrs))
}

// logDocument is the ABI's log message, {"logger": ..., "data": ...},
// shortened to fit the host's size limit.
func logDocument(logger, msg string, attrs []any) []byte {
	if len(logger) > 128 {
		logger = logger[:128]
	}
	doc := encodeLog(logger, logData(msg, attrs))
	for len(doc) > maxLogMessage {
		msg = msg[:len(msg)/2]
		text, _ := json.Marshal(msg + " [shortened]")
		doc = encodeLog(logger, text)
	}
	return doc
}

func encodeLog(logger string, data []byte) []byte {
	doc := []byte(`{"logger":`)
	name, _ := json.Marshal(logger)
	doc = append(append(append(doc, name...), `,"data":`...), data...)
	return append(doc, '}')
}

// logData is the message alone (a JSON string) or, with attrs, an object
// of "msg" and the attrs in their order. A key that is not a string, or a
// value without its key, goes under "!BADKEY", as log/slog does.
func logData(msg string, attrs []any) []byte {
	text, _ := json.Marshal(msg)
	if len(attrs) == 0 {
		return text
	}
	data := append([]byte(`{"msg":`), text...)
	for len(attrs) > 0 {
		key, ok := attrs[0].(string)
		value := attrs[0]
		if ok && len(attrs) > 1 {
			value, attrs = attrs[1], attrs[2:]
		} else {
			key, attrs = "!BADKEY", attrs[1:]
		}
		k, _ := json.Marshal(key)
		v, err := json.Marshal(value)
		if err != nil {
			v, _ = json.Marshal(fmt.Sprint(value))
		}
		data = append(append(append(append(data, ','), k...), ':'), v...)
	}
	return append(data, '}')
}

// Progress reports how far the tool has come, as an MCP
// notifications/progress to the agent's client, when the client asked for
// progress (a progressToken in its call); otherwise the host drops it.
// total is the progress at which the work is done, or 0 when unknown;
// message is an optional sentence for people. Each report must have a
// larger progress than the last, or the host drops it.
//
//	for i, page := range pages {
//		kiln.Progress(ctx, float64(i), float64(len(pages)), "fetching page "+page)
//		...
//	}
//
// The host bounds how many reports a call may send (toolkits/ABI.md):
// reporting on every step of a tight loop costs fuel and loses reports.
func Progress(ctx context.Context, progress, total float64, message string) {
	if math.IsNaN(progress) || math.IsInf(progress, 0) || math.IsNaN(total) || math.IsInf(total, 0) {
		return // the host refuses what JSON cannot carry
	}
	hostFrom(ctx).progress(progress, total, message)
}

type hostKey struct{}

// hostContext is the context a call's handler gets: h, for Log, Progress
// and the input functions to find.
func hostContext(h host) context.Context {
	return context.WithValue(context.Background(), hostKey{}, h)
}

// hostFrom returns the host of the call ctx belongs to (answer puts it
// there; tests put a recorder), else the module's.
func hostFrom(ctx context.Context) host {
	if h, ok := ctx.Value(hostKey{}).(host); ok {
		return h
	}
	return defaultHost()
}
