package eval

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/kilnhq/kiln/pkg/wizard"
)

// TaskResult is what one task's session reached.
type TaskResult struct {
	ID       string `json:"id"`
	Category string `json:"category"`
	Session  string `json:"session,omitempty"`
	// State is the session's state at the end: proposed tools that passed
	// leave it ready, none failed, a failed proposal describing.
	State string `json:"state"`
	Counts
	// Error is why the task stopped short, in the session's words.
	Error string `json:"error,omitempty"`
}

// Counts are the measures of a task, and summed over tasks in Total.
type Counts struct {
	// Tools the proposal had (and were generated).
	Tools int `json:"tools"`
	// BuiltFirstTry counts tools whose first answer compiled and loaded;
	// BuiltAfterRepair those that did only in a later round; NeverBuilt
	// the rest. The three add up to Tools.
	BuiltFirstTry    int `json:"built_first_try"`
	BuiltAfterRepair int `json:"built_after_repair"`
	NeverBuilt       int `json:"never_built"`
	// Passed counts tools whose sample calls all passed.
	Passed int `json:"passed"`
	// SamplesPassed of Samples: the sample calls of the kept attempts.
	SamplesPassed int `json:"samples_passed"`
	Samples       int `json:"samples"`
	// Rounds is the answers with source over every tool (1 per tool when
	// nothing needed repair).
	Rounds int `json:"rounds"`
	// LLMCalls, InputTokens and OutputTokens are the session's recorded
	// generations (proposal included).
	LLMCalls     int     `json:"llm_calls"`
	InputTokens  int64   `json:"input_tokens"`
	OutputTokens int64   `json:"output_tokens"`
	Seconds      float64 `json:"seconds"`
}

// Report is an evaluation's results.
type Report struct {
	Tasks []TaskResult `json:"tasks"`
	Total Total        `json:"total"`
}

// Total sums the tasks.
type Total struct {
	Counts
	TasksRun int `json:"tasks"`
	// TasksPassed counts tasks every one of whose tools passed.
	TasksPassed int `json:"tasks_passed"`
}

// built says whether an attempt compiled and produced a loadable module.
func built(stage string) bool { return stage == "load" || stage == "samples" || stage == "passed" }

// score reads a session's tools into r.
func score(r *TaskResult, s *wizard.Session) {
	for _, t := range s.Tools {
		r.Tools++
		r.Rounds += len(t.Attempts)
		first, later := false, false
		for i, a := range t.Attempts {
			if built(a.Stage) {
				first, later = first || i == 0, later || i > 0
			}
		}
		switch {
		case first:
			r.BuiltFirstTry++
		case later:
			r.BuiltAfterRepair++
		default:
			r.NeverBuilt++
		}
		if t.Status == wizard.ToolPassed {
			r.Passed++
		}
		r.Samples += len(t.Spec.Samples)
		for _, sr := range t.Samples {
			if sr.Passed {
				r.SamplesPassed++
			}
		}
	}
}

func total(rs []TaskResult) Total {
	var t Total
	for _, r := range rs {
		t.TasksRun++
		if r.Tools > 0 && r.Passed == r.Tools {
			t.TasksPassed++
		}
		c := &t.Counts
		c.Tools += r.Tools
		c.BuiltFirstTry += r.BuiltFirstTry
		c.BuiltAfterRepair += r.BuiltAfterRepair
		c.NeverBuilt += r.NeverBuilt
		c.Passed += r.Passed
		c.SamplesPassed += r.SamplesPassed
		c.Samples += r.Samples
		c.Rounds += r.Rounds
		c.LLMCalls += r.LLMCalls
		c.InputTokens += r.InputTokens
		c.OutputTokens += r.OutputTokens
		c.Seconds += r.Seconds
	}
	return t
}

// Print writes the report as a table: one row per task, then the total.
func (rep Report) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "task\ttools\tbuilt 1st\tafter repair\tnever\tpassed\tsamples\trounds\tcalls\ttokens in\ttokens out\tseconds\t")
	row := func(name string, c Counts) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d/%d\t%d\t%d\t%d\t%d\t%.1f\t\n", name, c.Tools, c.BuiltFirstTry,
			c.BuiltAfterRepair, c.NeverBuilt, c.Passed, c.SamplesPassed, c.Samples, c.Rounds, c.LLMCalls, c.InputTokens, c.OutputTokens, c.Seconds)
	}
	for _, r := range rep.Tasks {
		row(r.ID, r.Counts)
	}
	row(fmt.Sprintf("total (%d/%d tasks passed)", rep.Total.TasksPassed, rep.Total.TasksRun), rep.Total.Counts)
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range rep.Tasks {
		if r.Error != "" {
			fmt.Fprintf(w, "%s: %s\n", r.ID, r.Error)
		}
	}
	return nil
}
