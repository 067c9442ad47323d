package kiln

import "fmt"

// Level is the severity of a log line sent to the host.
type Level uint32

// Levels, as numbered in the ABI's log function.
const (
	LevelDebug Level = 0
	LevelInfo  Level = 1
	LevelWarn  Level = 2
	LevelError Level = 3
)

// Log sends one line to the server's execution log. The host caps the size
// of each line and of all lines in one call.
func Log(level Level, msg string) { defaultHost().log(level, msg) }

// Logf formats and sends one line to the execution log.
func Logf(level Level, format string, args ...any) { Log(level, fmt.Sprintf(format, args...)) }
