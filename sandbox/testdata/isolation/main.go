// Command isolation is a test module built with the Go toolkit: "write"
// leaves a secret everywhere a call can leave state (a global, the heap,
// a running goroutine, a pending timer, the environment) and then ends in
// one of the ways a call can end; "read" reports what it can see of all of
// those. On a correctly restored instance, read never sees a secret. The
// echo tools are trivial calls, one with a string result and one with a
// struct result, for the benchmarks.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

var (
	global    string
	heap      = map[string][]byte{}
	fromGo    string // written by a goroutine a call leaves running
	fromTimer string // written by a timer a call leaves pending
	sink      [][]byte
)

type writeIn struct {
	Secret string `json:"secret"`
	// Then is how the call ends: return, error, panic, exit, fatal, spin,
	// grow or closefd.
	Then string `json:"then"`
}

func write(_ context.Context, in writeIn) (string, error) {
	global = in.Secret
	heap[in.Secret] = []byte(in.Secret)
	os.Setenv("LEAK", in.Secret)
	secret := in.Secret
	go func() {
		for {
			fromGo = secret
			time.Sleep(time.Millisecond)
		}
	}()
	time.AfterFunc(time.Millisecond, func() { fromTimer = secret })
	runtime.Gosched()
	switch in.Then {
	case "error":
		return "", errors.New("failed after writing")
	case "panic":
		var m map[string]int
		m["boom"]++
	case "exit":
		os.Exit(3)
	case "fatal":
		var mu sync.Mutex
		mu.Unlock() // a fatal error, which no recover sees
	case "spin":
		for i := 0; ; i++ {
			if i < 0 {
				break
			}
		}
	case "grow":
		for range 32 {
			sink = append(sink, make([]byte, 1<<20))
		}
	case "closefd":
		if err := syscall.Close(1); err != nil {
			return "", err
		}
	}
	return "written", nil
}

type readOut struct {
	Global     string   `json:"global"`
	Heap       []string `json:"heap"`
	FromGo     string   `json:"fromGo"`
	FromTimer  string   `json:"fromTimer"`
	Leak       string   `json:"leak"`
	Token      string   `json:"token"`
	Environ    []string `json:"environ"`
	Goroutines int      `json:"goroutines"`
	Random     string   `json:"random"`
}

type none struct{}

func read(context.Context, none) (readOut, error) {
	// Give goroutines and timers a call left behind the chance to run.
	time.Sleep(3 * time.Millisecond)
	runtime.Gosched()
	var keys []string
	for k := range heap {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return readOut{}, err
	}
	os.Stdout.WriteString("read ran\n")
	env := os.Environ()
	sort.Strings(env)
	return readOut{
		Global: global, Heap: keys, FromGo: fromGo, FromTimer: fromTimer,
		Leak: os.Getenv("LEAK"), Token: kiln.Env("TOKEN"), Environ: env,
		Goroutines: runtime.NumGoroutine(), Random: hex.EncodeToString(b),
	}, nil
}

type echoIn struct {
	Text string `json:"text"`
}

func echo(_ context.Context, in echoIn) (string, error) {
	return strings.Clone(in.Text), nil
}

// echoOut is a struct result of the common shape (the toolkit's fast
// encoder takes it), like most tools' results.
type echoOut struct {
	Text   string `json:"text"`
	Length int    `json:"length"`
}

func echoStruct(_ context.Context, in echoIn) (echoOut, error) {
	return echoOut{Text: in.Text, Length: utf8.RuneCountInString(in.Text)}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Env: []kiln.EnvVar{{Name: "TOKEN", PerRequest: true}},
		Tools: []kiln.Tool{
			kiln.NewTool("write", "Leaves a secret everywhere, then ends as told", write),
			kiln.NewTool("read", "Reports what an earlier call may have left", read),
			kiln.NewTool("echo", "Returns its text", echo),
			kiln.NewTool("echo_struct", "Returns its text and its length as structured content", echoStruct),
			kiln.NewTool("warmed", "Reports what Module.Warm left, and takes it", warmedTool),
		},
		Warm: warm,
	})
	gcsInMain = numGC() // a reactor's main returns from Run; the toolkit then collects
}

// warmed and warmPool are what warm leaves, after the toolkit's collection
// and before the snapshot (Module.Warm).
var (
	warmed    bool
	warmPool  sync.Pool
	gcsInMain uint32
)

func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}

// warm records whether it runs after a collection that followed main,
// which a pool's object outlives in the pool's victim cache.
func warm() {
	warmed = numGC() > gcsInMain
	warmPool.Put(new([64]byte))
}

type warmedOut struct {
	Warmed bool `json:"warmed"`
	Pooled bool `json:"pooled"`
}

// warmedTool takes the pool's object and keeps it: the next call, on a
// restored instance, finds it in the pool again.
func warmedTool(context.Context, struct{}) (warmedOut, error) {
	return warmedOut{Warmed: warmed, Pooled: warmPool.Get() != nil}, nil
}
