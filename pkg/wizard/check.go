package wizard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
	"github.com/kilnhq/kiln/sandbox"
)

// Stages an attempt reaches, in order.
const (
	stageInvalid = "invalid" // refused by build.Validate
	stageCompile = "compile" // the compiler failed
	stageLoad    = "load"    // built, but not the tool asked for, or refused by the sandbox
	stageSamples = "samples" // built; a sample call failed
	stagePassed  = "passed"
)

// checked is what building and testing one source gave.
type checked struct {
	stage       string
	problems    []build.Problem
	buildOutput string
	samples     []SampleResult
	moduleHash  string
	// feedback is what goes back to the LLM: the errors with the source
	// lines around them.
	feedback string
}

// score orders attempts: the further an attempt got, the better; among
// those that ran, more passing samples is better.
func (c checked) score() int {
	base := map[string]int{stageInvalid: 0, stageCompile: 1, stageLoad: 2, stageSamples: 3, stagePassed: 1000}[c.stage]
	for _, s := range c.samples {
		if s.Passed {
			base++
		}
	}
	return base
}

// errorText is the one-paragraph reason an attempt failed, for a person.
func (c checked) errorText() string {
	if c.stage == stagePassed {
		return ""
	}
	return truncate(c.feedback, maxErrorBytes)
}

// check validates, builds, loads and stores files, then runs spec's sample
// calls with the plan's limits. Problems of the source are in the result;
// the error is a failure of Kiln (or ctx's end).
func (w *Wizard) check(ctx context.Context, customer string, plan tier.Plan, spec Spec, files map[string]string, status func(ToolStatus)) (checked, error) {
	src := make(map[string][]byte, len(files))
	for n, f := range files {
		src[n] = []byte(f)
	}
	policy := build.DefaultPolicy()
	if problems := build.Validate(src, policy); len(problems) > 0 {
		return checked{stage: stageInvalid, problems: problems, feedback: problemFeedback(problems, files)}, nil
	}
	status(ToolBuilding)
	art, err := w.cfg.Builds.Build(ctx, customer, policy, src)
	if c, ok := buildFailure(err, files); ok {
		return c, nil
	}
	if err != nil {
		return checked{}, err
	}
	mod, err := w.cfg.Engine.Load(ctx, art.Wasm)
	var bad *sandbox.BadModuleError
	if errors.As(err, &bad) {
		return checked{stage: stageLoad, feedback: "the built module was refused by the sandbox: " + bad.Error()}, nil
	}
	if err != nil {
		return checked{}, err
	}
	if _, ok := mod.Manifest.Tool(spec.Name); !ok || len(mod.Manifest.Tools) != 1 {
		return checked{stage: stageLoad, feedback: fmt.Sprintf("the module must offer exactly one tool, named %q; it offers %s",
			spec.Name, toolNames(mod))}, nil
	}
	if err := w.storeModule(ctx, mod, art.Wasm); err != nil {
		return checked{}, err
	}
	status(ToolTesting)
	c := checked{stage: stagePassed, moduleHash: mod.Hash}
	var failures []string
	for i, args := range spec.Samples {
		res, err := w.call(ctx, plan, mod, spec.Name, args)
		var sr SampleResult
		var refused *sandbox.RequestError
		switch {
		case errors.As(err, &refused):
			sr = refusedSample(args, refused)
		case err != nil:
			return checked{}, err
		default:
			sr = sampleResult(args, res, spec.OutputSchema)
		}
		c.samples = append(c.samples, sr)
		if !sr.Passed {
			failures = append(failures, fmt.Sprintf("sample call %d with arguments %s: %s", i+1, args, sr.Detail))
		}
	}
	if len(failures) > 0 {
		c.stage, c.feedback = stageSamples, "The tool builds, but its sample calls failed:\n"+strings.Join(failures, "\n")
	}
	return c, nil
}

func toolNames(m *sandbox.Module) string {
	names := make([]string, 0, len(m.Manifest.Tools))
	for _, t := range m.Manifest.Tools {
		names = append(names, strconv.Quote(t.Name))
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// storeModule keeps the built module, so deploying and the playground use
// exactly what was tested.
func (w *Wizard) storeModule(ctx context.Context, mod *sandbox.Module, wasm []byte) error {
	doc, err := json.Marshal(mod.Manifest)
	if err != nil {
		return fmt.Errorf("wizard: encode manifest: %w", err)
	}
	row := store.Module{Hash: mod.Hash, Manifest: doc}
	return w.cfg.Store.PutModule(ctx, &row, wasm)
}

// buildFailure turns a build's failure caused by the source into a result.
func buildFailure(err error, files map[string]string) (checked, bool) {
	var (
		invalid  *build.ValidationError
		compile  *build.Error
		source   *build.SourceError
		describe *build.DescribeError
	)
	switch {
	case errors.As(err, &invalid):
		return checked{stage: stageInvalid, problems: invalid.Problems, feedback: problemFeedback(invalid.Problems, files)}, true
	case errors.As(err, &compile):
		return checked{stage: stageCompile, buildOutput: compile.Output, feedback: compileFeedback(compile.Output, files)}, true
	case errors.As(err, &source):
		return checked{stage: stageInvalid, feedback: source.Error()}, true
	case errors.As(err, &describe):
		return checked{stage: stageLoad, feedback: describe.Error()}, true
	}
	return checked{}, false
}

// sampleResult judges one sample call: it passes when the tool answered
// without an error and its structured result matches the output schema.
func sampleResult(args json.RawMessage, res sandbox.Result, outSchema json.RawMessage) SampleResult {
	sr := SampleResult{Arguments: args, Outcome: res.Outcome.String(), Output: res.Answer.Document, Detail: outcomeText(res)}
	if res.Outcome == sandbox.OutcomeOK {
		sr.Detail = checkShape(res.Answer.Structured, outSchema)
		sr.Passed = sr.Detail == ""
	}
	return sr
}

// refusedSample is a sample whose arguments the sandbox refused before
// the tool ran: the sample, not the tool, is wrong, but the attempt fails.
func refusedSample(args json.RawMessage, re *sandbox.RequestError) SampleResult {
	return SampleResult{Arguments: args, Outcome: sandbox.OutcomeToolError.String(),
		Detail: "the sample's arguments were refused before the tool ran: " + re.Reason}
}

// outcomeText words a call that did not end well for a person (and the
// LLM repairing the tool): the tool's own error, or what stopped the call
// with the module's console output, where a crash explains itself. "" for
// a call that returned a result.
func outcomeText(res sandbox.Result) string {
	switch {
	case res.Outcome == sandbox.OutcomeOK:
		return ""
	case res.Outcome == sandbox.OutcomeToolError:
		return "the tool answered with an error: " + truncate(res.Answer.Text, 1500)
	}
	text := fmt.Sprintf("the call ended with %s: %s", res.Outcome, res.Detail)
	if c := strings.TrimSpace(res.Console); c != "" {
		text += "\nconsole output:\n" + truncate(c, 1500)
	}
	return text
}

// checkShape says how a result's structured content misses the output
// schema, or "" when it matches.
func checkShape(structured, schema json.RawMessage) string {
	if len(schema) == 0 {
		return ""
	}
	if len(structured) == 0 {
		return "the result has no structured content, but the tool declares an output schema: return a struct"
	}
	r, err := objectSchema(schema)
	if err != nil {
		return "" // checked when the spec was accepted
	}
	var v any
	if err := json.Unmarshal(structured, &v); err != nil {
		return "the structured result is not JSON"
	}
	if err := r.Validate(v); err != nil {
		return "the result does not match the output schema: " + err.Error()
	}
	return ""
}

// RunResult is a playground call, worded for a person.
type RunResult struct {
	Outcome sandbox.Outcome
	// Output is the tool's result document; nil when the sandbox stopped
	// the call.
	Output json.RawMessage
	// Detail says what went wrong, when something did (see outcomeText).
	Detail string
	sandbox.Usage
	Console string
}

// call runs one call of a built tool with the plan's limits; the network
// is the tool's declared egress hosts, as on a server without its own list.
// Arguments the tool's input schema refuses are a *sandbox.RequestError.
func (w *Wizard) call(ctx context.Context, plan tier.Plan, mod *sandbox.Module, tool string, args json.RawMessage) (sandbox.Result, error) {
	req := sandbox.Request{Tool: tool, Args: args, Limits: sandbox.Limits{
		Fuel: uint64(plan.Fuel), Memory: uint64(plan.MemoryBytes), Timeout: plan.Timeout,
		OutputBytes: int(plan.OutputBytes), LogBytes: sandbox.DefaultLimits().LogBytes,
	}}
	if plan.HTTPRequestsPerCall > 0 {
		policy := w.cfg.Egress
		policy.MaxRequests = plan.HTTPRequestsPerCall
		req.Network = &sandbox.Network{Policy: policy, Secrets: callSecrets(ctx), Options: w.cfg.EgressOptions}
	}
	return w.cfg.Engine.Call(ctx, mod, req)
}

// position matches "main.go:12:5:" in compiler output.
var position = regexp.MustCompile(`(?m)^(?:\./)?([A-Za-z0-9_.-]+\.go):([0-9]+)(?::[0-9]+)?:`)

// compileFeedback is the compiler's output followed by the lines around
// each position it names, so the model sees the code it must fix.
func compileFeedback(output string, files map[string]string) string {
	var lines []lineRef
	for _, m := range position.FindAllStringSubmatch(output, 20) {
		n, _ := strconv.Atoi(m[2])
		lines = append(lines, lineRef{m[1], n})
	}
	return "The Go compiler failed:\n" + truncate(strings.TrimSpace(output), 3000) + context3(lines, files)
}

func problemFeedback(problems []build.Problem, files map[string]string) string {
	var b strings.Builder
	b.WriteString("The source was refused before compiling:\n")
	var lines []lineRef
	for _, p := range problems {
		b.WriteString(p.String() + "\n")
		if p.File != "" && p.Line > 0 {
			lines = append(lines, lineRef{p.File, p.Line})
		}
	}
	return strings.TrimSpace(b.String()) + context3(lines, files)
}

type lineRef struct {
	file string
	line int
}

// context3 quotes three lines either side of each referenced line.
func context3(refs []lineRef, files map[string]string) string {
	if len(refs) == 0 {
		return ""
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].file != refs[j].file {
			return refs[i].file < refs[j].file
		}
		return refs[i].line < refs[j].line
	})
	var b strings.Builder
	b.WriteString("\n\nThe lines around each error:")
	shown := map[lineRef]bool{}
	for _, r := range refs[:min(len(refs), 10)] {
		src := strings.Split(files[r.file], "\n")
		if r.line > len(src) || shown[r] {
			continue
		}
		shown[r] = true
		fmt.Fprintf(&b, "\n%s:\n", r.file)
		for i := max(1, r.line-3); i <= min(len(src), r.line+3); i++ {
			mark := "  "
			if i == r.line {
				mark = "> "
			}
			fmt.Fprintf(&b, "%s%4d | %s\n", mark, i, src[i-1])
		}
	}
	return b.String()
}
