package ratelimit

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any leaves a goroutine behind
// (a Redis client's, a limiter's).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
