package sandbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
)

// replayPlan is a replay in progress: the recording, and the tapes that
// give its reads back (the initialisation's, for a warm call, and the
// call's), which collect the divergences.
type replayPlan struct {
	rec  *Recording
	init *tape
	call *tape
}

// Replay is how a replayed call compared with the recorded one.
type Replay struct {
	// Result is the replayed call's result.
	Result Result
	// ResultMatches: the same outcome and the same answer document.
	ResultMatches bool
	// RecordedFuel and Fuel are the fuel the recorded and the replayed
	// call used.
	RecordedFuel, Fuel uint64
	// Divergences describe where the replayed call read from the host
	// differently from the recorded one; empty when it read the same.
	Divergences []string
	// Truncated: the recording stopped at its size limit, so the replay
	// ran past its end on live values and cannot be exact.
	Truncated bool
}

// Exact reports a replay that read what was recorded and ended the same
// way with the same fuel.
func (r Replay) Exact() bool {
	return r.ResultMatches && r.Fuel == r.RecordedFuel && len(r.Divergences) == 0 && !r.Truncated
}

// Replay runs a recorded call again on m: req must be the recorded call's
// request (tool, arguments, env, limits) without Record or Network, and the
// guest gets the recording's clock readings, random bytes and HTTP
// responses instead of live ones. A call recorded on a warm instance is
// replayed on a new instance initialised with the recorded initialisation's
// reads, which rebuilds the snapshot it ran from; a call recorded on a
// fresh instance, on a fresh instance. The error is the same as Call's.
func (e *Engine) Replay(ctx context.Context, m *Module, req Request, rec *Recording) (Replay, error) {
	if rec == nil || req.Record != nil || req.Network != nil {
		return Replay{}, errors.New("sandbox: Replay needs a recording, and a request without Record or Network")
	}
	if rec.Warm && !m.restorable {
		return Replay{}, &RequestError{Reason: "the call was recorded on a warm instance, and this module cannot have one"}
	}
	plan := &replayPlan{rec: rec}
	req.replay = plan
	res, err := e.Call(ctx, m, req)
	if err != nil {
		return Replay{}, err
	}
	out := Replay{Result: res, RecordedFuel: rec.Fuel, Fuel: res.FuelUsed, Truncated: rec.Truncated}
	out.ResultMatches = res.Outcome.String() == rec.Outcome && bytes.Equal(answerHash(res), rec.AnswerSHA256)
	if plan.init != nil {
		plan.init.finish()
		for _, d := range plan.init.diverged {
			out.Divergences = append(out.Divergences, "initialisation: "+d)
		}
	}
	if plan.call != nil {
		plan.call.finish()
		out.Divergences = append(out.Divergences, plan.call.diverged...)
	}
	return out, nil
}

// replayWarm serves a replayed call the way a warm instance served the
// recorded one: it initialises a new instance of m on the recorded
// initialisation's reads, then runs the call on it, and closes it. It owns
// leave when ok, as runWarm does.
func (e *Engine) replayWarm(ctx context.Context, m *Module, state *callState, leave func()) (x execution, ok bool, err error) {
	plan := state.replay
	entry, err := e.acquire(ctx, m)
	if err != nil {
		return x, false, err
	}
	setup := DefaultLimits()
	setup.Memory = state.limits.Memory
	plan.init = player(plan.rec.Init)
	w, _, _, err := e.initialise(ctx, entry.compiled, m.globals, setup, plan.init)
	if err != nil {
		return x, false, errors.Join(fmt.Errorf("sandbox: replaying the initialisation: %w", err), e.release(ctx, entry))
	}
	defer leave()
	x.duration, x.err = w.serve(ctx, state)
	account := *w.mem
	account.buf, account.inspect = nil, nil
	x.mem = &account
	return x, true, errors.Join(w.close(ctx), e.release(ctx, entry))
}
