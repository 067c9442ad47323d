package build_test

import (
	"os"
	"testing"

	"github.com/kilnhq/kiln/pkg/testmodules"
)

// modules is the sandbox cache shared by this package's builders: most
// tests build the same few sources, and compiling each module once per
// test binary instead of once per test is most of the package's time
// under the race detector.
var modules testmodules.ModuleCache

func TestMain(m *testing.M) { os.Exit(modules.Run(m)) }
