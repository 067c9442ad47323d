package web_test

import (
	"os"
	"testing"

	"github.com/kilnhq/kiln/pkg/testmodules"
)

// modules is the module and Go build cache shared by the nodes of this
// test binary that build Go (KILN_CACHE_DIR).
var modules testmodules.ModuleCache

func TestMain(m *testing.M) { os.Exit(modules.Run(m)) }
