package wizard

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/kilnhq/kiln/pkg/build"
)

// State is where a session is in the wizard.
type State string

// The states of a session. Proposing and generating are work in progress,
// held under a lease; the others wait for the person.
const (
	StateDescribing State = "describing" // a description, no proposal (yet, or the last one failed: see Error)
	StateProposing  State = "proposing"  // the LLM is proposing tools
	StateProposed   State = "proposed"   // a proposal waits to be edited and accepted
	StateAccepted   State = "accepted"   // the tools are fixed; none generated yet
	StateGenerating State = "generating" // tools are being written, built, tested and repaired
	StateReady      State = "ready"      // at least one tool passed its sample calls: it can be deployed
	StateFailed     State = "failed"     // every tool failed; edit by hand or generate again
	StateDeployed   State = "deployed"   // the passed tools are on a server
)

// transitions is the state machine: the states each state may move to.
// Everything else is refused with a *StateError, so no step runs twice at
// once (generating → generating is absent) and nothing deploys before a
// tool passed (only ready and deployed lead to deployed).
var transitions = map[State][]State{
	StateDescribing: {StateProposing, StateAccepted},
	StateProposing:  {StateProposed, StateDescribing},
	StateProposed:   {StateProposing, StateAccepted},
	StateAccepted:   {StateAccepted, StateProposing, StateGenerating, StateReady, StateFailed},
	StateGenerating: {StateReady, StateFailed, StateAccepted},
	StateReady:      {StateAccepted, StateGenerating, StateReady, StateFailed, StateDeployed},
	StateFailed:     {StateAccepted, StateGenerating, StateReady, StateFailed},
	StateDeployed:   {StateAccepted, StateGenerating, StateReady, StateFailed, StateDeployed},
}

// working states are held by a lease and resumed when it expires.
var workingStates = []State{StateProposing, StateGenerating}

func (s State) working() bool { return slices.Contains(workingStates, s) }

// move checks that the session may go from its state to next for action.
func (s *Session) move(next State, action string) error {
	if slices.Contains(transitions[s.State], next) {
		s.State = next
		return nil
	}
	return &StateError{State: s.State, Action: action, Reason: stateReason(s.State, next)}
}

func stateReason(from, to State) string {
	switch {
	case from.working():
		return "wait until it finishes (follow the event stream)"
	case to == StateDeployed:
		return "no tool has passed its sample calls yet"
	case to == StateGenerating:
		return "accept a proposal first"
	case to == StateProposing && from == StateAccepted, to == StateProposing:
		return "a proposal was already accepted; edit the tools instead"
	}
	return "the step does not apply here"
}

// ToolStatus is where one tool is.
type ToolStatus string

// The statuses of a tool. Passed and failed are final for a run.
const (
	ToolPending    ToolStatus = "pending"
	ToolGenerating ToolStatus = "generating"
	ToolBuilding   ToolStatus = "building"
	ToolTesting    ToolStatus = "testing"
	ToolRepairing  ToolStatus = "repairing"
	ToolPassed     ToolStatus = "passed"
	ToolFailed     ToolStatus = "failed"
)

func (t ToolStatus) final() bool { return t == ToolPassed || t == ToolFailed }

// Session is a wizard session as the API shows it.
type Session struct {
	ID          string    `json:"id"`
	State       State     `json:"state"`
	Version     int64     `json:"version"`
	Description string    `json:"description"`
	ServerID    *string   `json:"server_id"`
	Proposal    *Proposal `json:"proposal,omitempty"`
	Tools       []*Tool   `json:"tools"`
	// Error says what went wrong in the last step and what to do about it.
	Error string `json:"error,omitempty"`
	// SecretsSet names the secrets the person supplied a value for; the
	// values are never shown.
	SecretsSet []string  `json:"secrets_set"`
	LLM        bool      `json:"llm_configured"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`

	customerID string
	row        rowLease
	run        []string
	secrets    map[string][]byte
}

// rowLease is the lease as read with the session.
type rowLease struct {
	token *string
	until *time.Time
}

// data is what the wizard_sessions.data column holds.
type data struct {
	Proposal *Proposal `json:"proposal,omitempty"`
	Tools    []*Tool   `json:"tools,omitempty"`
	Error    string    `json:"error,omitempty"`
	// Run is the work a lease covers: which tools a generation was asked
	// for, so a resumed run does the same.
	Run []string `json:"run,omitempty"`
	// Secrets are the sealed values of the tools' secrets (secrets.go).
	Secrets map[string][]byte `json:"secrets,omitempty"`
}

// Proposal is what the LLM proposed (or the person wrote).
type Proposal struct {
	Tools   []Spec              `json:"tools"`
	Library []LibrarySuggestion `json:"library,omitempty"`
	// Generation says which model proposed it; nil when a person wrote it.
	Generation *Generation `json:"generation,omitempty"`
}

// Spec is one tool as proposed and accepted.
type Spec struct {
	Name         string            `json:"name"`
	Description  string            `json:"description"`
	InputSchema  json.RawMessage   `json:"input_schema"`
	OutputSchema json.RawMessage   `json:"output_schema,omitempty"`
	Env          []EnvVar          `json:"env,omitempty"`
	Egress       []string          `json:"egress,omitempty"`
	Samples      []json.RawMessage `json:"samples"`
}

// EnvVar is an environment variable a tool needs; secrets are used by
// reference (kiln.Secret), never read by the module.
type EnvVar struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Secret      bool   `json:"secret,omitempty"`
	Required    bool   `json:"required,omitempty"`
}

// LibrarySuggestion is a library module the plan allows that already does
// (part of) the job.
type LibrarySuggestion struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Tool    string `json:"tool,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// Generation records where a text came from: the prompt version and who
// answered.
type Generation struct {
	PromptVersion string `json:"prompt_version"`
	Provider      string `json:"provider"`
	Model         string `json:"model"`
}

// Origin says who wrote a tool's source.
const (
	OriginLLM      = "llm"
	OriginSkeleton = "skeleton"
	OriginHand     = "hand"
)

// Tool is one tool of the session with its progress.
type Tool struct {
	Spec
	Status ToolStatus `json:"status"`
	// Round counts the answers of the current run (1 = first generation).
	Round int `json:"round"`
	// Files is the tool's current source: the best attempt so far.
	Files  map[string]string `json:"files,omitempty"`
	Origin string            `json:"origin,omitempty"`
	// Generation is set when Files came from an LLM.
	Generation *Generation `json:"generation,omitempty"`
	// Problems and BuildOutput are why Files did not validate or compile.
	Problems    []build.Problem `json:"problems,omitempty"`
	BuildOutput string          `json:"build_output,omitempty"`
	Samples     []SampleResult  `json:"sample_results,omitempty"`
	// ModuleHash is the built module of Files, stored.
	ModuleHash string    `json:"module_hash,omitempty"`
	Attempts   []Attempt `json:"attempts,omitempty"`
	Error      string    `json:"error,omitempty"`
}

// Attempt is one answer of a run, kept without its source.
type Attempt struct {
	Round  int    `json:"round"`
	Origin string `json:"origin"`
	*Generation
	// Stage is how far the attempt got: invalid, compile, load, samples, passed.
	Stage string `json:"stage"`
	Error string `json:"error,omitempty"`
}

// SampleResult is one sample call's outcome.
type SampleResult struct {
	Arguments json.RawMessage `json:"arguments"`
	Outcome   string          `json:"outcome"`
	Passed    bool            `json:"passed"`
	Output    json.RawMessage `json:"output,omitempty"`
	Detail    string          `json:"detail,omitempty"`
}

// tool returns the session's tool called name.
func (s *Session) tool(name string) *Tool {
	for _, t := range s.Tools {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// settle is the resting state the tools' statuses lead to.
func (s *Session) settle() State {
	passed, failed := 0, 0
	for _, t := range s.Tools {
		switch t.Status {
		case ToolPassed:
			passed++
		case ToolFailed:
			failed++
		}
	}
	switch {
	case passed > 0:
		return StateReady
	case failed == len(s.Tools) && failed > 0:
		return StateFailed
	}
	return StateAccepted
}
