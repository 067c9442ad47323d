package sandbox

import (
	"fmt"
	"time"
)

// Limits bound one call. Every field must be positive; the caller (in the
// service, the customer's tier) decides the values and passes them down.
type Limits struct {
	// Fuel caps the work the module may do: about one unit per WebAssembly
	// instruction executed (see sandbox/fuel), plus host function charges.
	Fuel uint64
	// Memory caps the module's linear memory in bytes (rounded down to whole
	// 64 KiB pages). Growing past it fails inside the module; a module that
	// then stops ends with OutcomeMemoryLimit.
	Memory uint64
	// Timeout caps the call's wall-clock time.
	Timeout time.Duration
	// OutputBytes caps the result: the result document of an ABI module, or
	// stdout of a plain WASI module.
	OutputBytes int
	// LogBytes caps everything the module logs in one call (log lines,
	// stdout and stderr of ABI modules, stderr of plain modules). Logs past
	// the cap are dropped and the result is marked LogsTruncated.
	LogBytes int
	// Notify bounds the progress reports and log messages a module sends
	// its caller during the call (ABI v2); the zero value means defaults.
	Notify NotifyLimits
}

// DefaultLimits are the limits `kiln run` uses when no flag overrides them.
func DefaultLimits() Limits {
	return Limits{Fuel: 1_000_000_000, Memory: 64 << 20, Timeout: 5 * time.Second, OutputBytes: 1 << 20, LogBytes: 64 << 10}
}

const pageSize = 64 << 10

func (l Limits) validate() error {
	switch {
	case l.Fuel == 0:
		return fmt.Errorf("sandbox: fuel must be positive")
	case l.Memory < pageSize:
		return fmt.Errorf("sandbox: memory limit %d is below one 64 KiB page", l.Memory)
	case l.Memory > 4<<30:
		return fmt.Errorf("sandbox: memory limit %d is above the 4 GiB a 32-bit module can address", l.Memory)
	case l.Timeout <= 0:
		return fmt.Errorf("sandbox: timeout %v must be positive", l.Timeout)
	case l.OutputBytes <= 0:
		return fmt.Errorf("sandbox: output limit %d must be positive", l.OutputBytes)
	case l.LogBytes <= 0:
		return fmt.Errorf("sandbox: log limit %d must be positive", l.LogBytes)
	}
	return nil
}

func (l Limits) memoryPages() uint32 { return uint32(l.Memory / pageSize) }
