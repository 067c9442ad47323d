package sandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tetratelabs/wazero/sys"
)

// Recording and replay (RATIONALE.md, "Recording a call").
//
// A module's code and its call document decide everything it does except
// what it reads from the host while it runs: the wall clock and the
// monotonic clock (WASI clock_time_get, which Go's runtime also uses), random
// bytes (random_get) and the answers to its HTTP requests. A Recording keeps
// those reads in the order the guest made them, at the point where the host
// answers them; a replay gives the same answers back in the same order, so
// the same module with the same call document runs the same instructions
// and uses the same fuel. A read the replay cannot answer from the
// recording (another kind, one too many, a different HTTP request) is a
// divergence, reported, and answered live so the call can still finish.

// Read kinds.
const (
	ReadWalltime = "walltime" // Time: Unix nanoseconds
	ReadNanotime = "nanotime" // Time: the monotonic clock, nanoseconds
	ReadRandom   = "random"   // Data: the bytes
	ReadHTTP     = "http"     // Request: the guest's request document; Data: the response document
	ReadInput    = "input"    // Request: the function and the guest's request document; Data: the answer
)

// Read is one thing the guest read from the host.
type Read struct {
	Kind    string `json:"kind"`
	Time    int64  `json:"time,omitempty"`
	Data    []byte `json:"data,omitempty"`
	Request []byte `json:"request,omitempty"`
}

// readOverhead is what a read counts towards a recording's size besides
// its bytes: a clock reading, the kind and the encoding around them.
const readOverhead = 32

// size is what r counts towards a recording's limit.
func (r Read) size() int { return readOverhead + len(r.Data) + len(r.Request) }

// Recording is what one call read from the host. Set Request.Record to a
// NewRecording to record a call; pass a finished one to Engine.Replay.
type Recording struct {
	// Warm says the call ran on a warm instance restored from a snapshot.
	// Init is then what the initialisation the snapshot was taken after
	// read: a replay initialises a new instance with it, which rebuilds
	// the same snapshot.
	Warm bool   `json:"warm"`
	Init []Read `json:"init,omitempty"`
	// Reads are the call's own reads, in order.
	Reads []Read `json:"reads"`
	// Truncated: the recording reached its limit (or the snapshot's
	// initialisation reached its own) and stopped there; a replay runs
	// past its end on live values and cannot be exact.
	Truncated bool `json:"truncated,omitempty"`
	// Size counts the recorded reads' bytes (Read.size) against Limit.
	Size  int `json:"size"`
	Limit int `json:"limit"`
	// Outcome, Fuel and AnswerSHA256 are how the recorded call ended, what
	// a replay is compared with (Engine.call fills them in).
	Outcome      string `json:"outcome"`
	Fuel         uint64 `json:"fuel"`
	AnswerSHA256 []byte `json:"answer_sha256,omitempty"`
}

// NewRecording returns an empty recording that keeps at most limit bytes
// of reads (Read.size); past it, it marks itself truncated.
func NewRecording(limit int) *Recording { return &Recording{Limit: limit, Reads: []Read{}} }

// add keeps r unless that would pass the limit, which truncates the
// recording: every later read is dropped too, so the kept ones are a
// prefix of what the call read.
func (rec *Recording) add(r Read) {
	if rec.Truncated {
		return
	}
	if rec.Size+r.size() > rec.Limit {
		rec.Truncated = true
		return
	}
	rec.Size += r.size()
	rec.Reads = append(rec.Reads, r)
}

// initRecordLimit bounds what a snapshot keeps of its initialisation's
// reads: Go's runtime reads a few clocks and random bytes.
const initRecordLimit = 64 << 10

// maxDivergences is how many divergences a replay describes.
const maxDivergences = 20

// tape is a call's recorder or player; nil (the usual case) means the
// host answers every read live and keeps nothing.
type tape struct {
	rec      *Recording // recording: reads go here
	play     []Read     // replaying: the reads to give back, in order
	pos      int
	diverged []string
}

// recorder returns a tape that records into rec.
func recorder(rec *Recording) *tape { return &tape{rec: rec} }

// player returns a tape that gives reads back.
func player(reads []Read) *tape { return &tape{play: reads} }

func (t *tape) diverge(format string, args ...any) {
	if len(t.diverged) < maxDivergences {
		t.diverged = append(t.diverged, fmt.Sprintf("read %d: ", t.pos+1)+fmt.Sprintf(format, args...))
	}
}

// next returns the next recorded read if it is of the kind the guest
// asks for, and moves past it.
func (t *tape) next(kind string) (Read, bool) {
	if t.pos >= len(t.play) {
		t.diverge("the guest read the %s after the last of the %d recorded reads", kind, len(t.play))
		return Read{}, false
	}
	r := t.play[t.pos]
	if r.Kind != kind {
		t.diverge("the guest read the %s where the recording has the %s", kind, r.Kind)
		return Read{}, false
	}
	t.pos++
	return r, true
}

// finish notes recorded reads the replayed call never made.
func (t *tape) finish() {
	if t.play != nil && t.pos < len(t.play) {
		t.diverged = append(t.diverged, fmt.Sprintf("the guest made %d of the %d recorded reads and stopped (the next was the %s)",
			t.pos, len(t.play), t.play[t.pos].Kind))
	}
}

// clock answers a clock read of the given kind: live, or recorded.
func (t *tape) clock(kind string, live func() int64) int64 {
	if t.play != nil {
		if r, ok := t.next(kind); ok {
			return r.Time
		}
		return live()
	}
	v := live()
	t.rec.add(Read{Kind: kind, Time: v})
	return v
}

// walltime is the guest's wall clock (wazero's sys.Walltime).
func (s *callState) walltime() (sec int64, nsec int32) {
	ns := time.Now().UnixNano()
	if s.tape != nil {
		ns = s.tape.clock(ReadWalltime, func() int64 { return ns })
	}
	return ns / 1e9, int32(ns % 1e9)
}

// nanotime is the guest's monotonic clock (wazero's sys.Nanotime): the
// time since the engine started, which never goes backwards.
func (s *callState) nanotime() int64 {
	if s.tape == nil {
		return int64(time.Since(s.epoch))
	}
	return s.tape.clock(ReadNanotime, func() int64 { return int64(time.Since(s.epoch)) })
}

// random fills p (at most randChunk bytes of it, see randSource) with
// random bytes: live, or recorded.
func (t *tape) random(p []byte) (int, error) {
	p = p[:min(len(p), randChunk)]
	if t.play != nil {
		if r, ok := t.next(ReadRandom); ok {
			if len(r.Data) != len(p) {
				t.diverge("the guest asked for %d random bytes where the recording has %d", len(p), len(r.Data))
			}
			n := copy(p, r.Data)
			if n < len(p) {
				if _, err := rand.Read(p[n:]); err != nil {
					return 0, err
				}
			}
			return len(p), nil
		}
		return rand.Read(p)
	}
	n, err := rand.Read(p)
	t.rec.add(Read{Kind: ReadRandom, Data: bytes.Clone(p[:n])})
	return n, err
}

// exchange answers one kiln.http_request with its response document:
// fetched live (and recorded), or the recorded one when the guest asked
// the same as it did when recorded.
func (s *callState) exchange(ctx context.Context, raw []byte) []byte {
	t := s.tape
	if t == nil || t.play == nil {
		out := responseBytes(s.fetch(ctx, raw))
		if t != nil {
			t.rec.add(Read{Kind: ReadHTTP, Request: bytes.Clone(raw), Data: out})
		}
		return out
	}
	r, ok := t.next(ReadHTTP)
	if !ok {
		return responseBytes(httpResponseDoc{Error: "replay: this request is not in the recording"})
	}
	if !bytes.Equal(r.Request, raw) {
		t.diverge("the guest's HTTP request differs from the recorded one: recorded %s, replayed %s (the recorded response is given)",
			clip(r.Request), clip(raw))
	}
	s.logReplayed(raw, r.Data)
	return r.Data
}

// askInput answers one request for input (input.go): through the caller's
// Inputs (and recorded), or with the recorded answer when replaying. A
// question the recording has no answer for is asked live, which, with no
// Inputs in a replay, stops the call as the recorded one stopped (a
// deferred question stays unanswered, as it was).
func (s *callState) askInput(kind InputKind, doc []byte) int {
	t := s.tape
	asked := append([]byte(string(kind)+" "), doc...)
	if t != nil && t.play != nil && t.pos < len(t.play) {
		if r, ok := t.next(ReadInput); ok {
			if !bytes.Equal(r.Request, asked) {
				t.diverge("the guest's request for input differs from the recorded one: recorded %s, replayed %s (the recorded answer is given)",
					clip(r.Request), clip(asked))
			}
			if len(r.Data) > 0 {
				return s.questions.give(r.Data)
			}
			// A deferred question left unanswered: asked again below,
			// which with no Inputs leaves it unanswered again.
		}
	}
	n := s.questions.ask(kind, doc) // stops the call when unanswered
	if t != nil && t.play == nil {
		t.rec.add(Read{Kind: ReadInput, Request: asked, Data: bytes.Clone(s.questions.pending)})
	}
	return n
}

// responseBytes encodes the response document the guest reads.
func responseBytes(doc httpResponseDoc) []byte {
	out, err := json.Marshal(doc)
	if err != nil { // only invalid UTF-8 in headers could get here; the module sees why
		out, _ = json.Marshal(httpResponseDoc{Error: "encoding the response: " + err.Error()})
	}
	return out
}

// logReplayed writes the log line fetch wrote when the response was
// recorded, so the replay's logs (and their budget) are the same.
func (s *callState) logReplayed(rawReq, rawResp []byte) {
	var req httpRequestDoc
	var resp httpResponseDoc
	if json.Unmarshal(rawReq, &req) != nil || json.Unmarshal(rawResp, &resp) != nil || resp.Error == errNoNetwork {
		return
	}
	s.logHTTP(req, resp)
}

// clip shortens a document for a divergence message.
func clip(b []byte) string {
	const max = 300
	if len(b) > max {
		return fmt.Sprintf("%q...(%d bytes)", b[:max], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// The guest's clock resolutions: wazero's WithSysWalltime and
// WithSysNanotime, which the clocks above replace, report these.
const (
	walltimeResolution = sys.ClockResolution(1000) // 1 µs
	nanotimeResolution = sys.ClockResolution(1)
)

// attachTape gives the call's state its tape: a recorder for a recorded
// call, a player for a replay (which a fresh instance serves unless the
// recorded call ran warm, see replayWarm).
func (req Request) attachTape(state *callState) {
	switch {
	case req.replay != nil:
		req.replay.call = player(req.replay.rec.Reads)
		state.tape = req.replay.call
		state.replay = req.replay
		state.oneOff = !req.replay.rec.Warm
	case req.Record != nil:
		state.tape = recorder(req.Record)
	}
}

// recordWarm notes, for a recorded call about to run on a warm instance,
// what the initialisation its snapshot was taken after read.
func (s *callState) recordWarm(snap *snapshot) {
	if s.tape == nil || s.tape.rec == nil {
		return
	}
	rec := s.tape.rec
	rec.Warm, rec.Init = true, snap.init
	rec.Truncated = rec.Truncated || snap.initTruncated
}

// finish keeps how the recorded call ended, what a replay is compared with.
func (rec *Recording) finish(res Result) {
	if rec == nil {
		return
	}
	rec.Outcome, rec.Fuel = res.Outcome.String(), res.FuelUsed
	rec.AnswerSHA256 = answerHash(res)
}

// answerHash identifies a call's answer: its document, or nothing for a
// call that stopped before it answered.
func answerHash(res Result) []byte {
	if res.Answer.Document == nil {
		return nil
	}
	sum := sha256.Sum256(res.Answer.Document)
	return sum[:]
}
