package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
)

// EnvAPIKey holds the customer's API key for `kiln wizard`: like every
// secret, it is read from the environment only.
const EnvAPIKey = "KILN_API_KEY"

const wizardDescription = `Turns a description into deployed tools through the wizard of a running
Kiln service (--server, KILN_SERVER_URL) with your API key (KILN_API_KEY, from
"kiln admin create-key"). The service's LLM proposes tools; you see the
proposal and accept it (or pass --yes); the tools are written, built, tested
and repaired while the progress is shown; the tools that pass are deployed to
a new server (or --server-id), whose MCP URL and client configuration are
printed. A tool's secret (an API key) is taken from KILN_SECRET_<NAME>, or asked
for; Kiln keeps it sealed for the tool's sample calls and the server.

"kiln wizard eval" runs the evaluation tasks instead (kiln wizard eval --help).`

// wizardOptions are the flags of `kiln wizard`.
type wizardOptions struct {
	server, serverName, serverID string
	yes, mcpKey                  bool
	timeout                      time.Duration
}

func runWizard(env *environment, args []string) int {
	if len(args) > 0 && args[0] == "eval" {
		return runWizardEval(env, args[1:])
	}
	fs := newFlagSet(env, "wizard", `[flags] "DESCRIPTION"`, wizardDescription)
	var o wizardOptions
	registerServer(fs, &o.server, env.getenv)
	fs.BoolVar(&o.yes, "yes", false, "accept the proposal without asking")
	fs.BoolVar(&o.mcpKey, "mcp-key", false, "also create an MCP key for the new server (owners) and print it, once, in the client configuration")
	fs.StringVar(&o.serverName, "server-name", "", "name of the new server (default: after the session)")
	fs.StringVar(&o.serverID, "server-id", "", "deploy to this existing server instead of a new one")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long (the session stays and can be finished in the API)")
	pos, status, ok := parseExact(env, fs, args, 1)
	if !ok {
		return status
	}
	c, err := userClient(env, o.server)
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln wizard: %v\n", err)
		return exitUsage
	}
	if strings.TrimSpace(pos[0]) == "" {
		fmt.Fprintln(env.stderr, `kiln wizard: the description is empty; say what the tools should do, e.g. kiln wizard "look up the weather for a city"`)
		return exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	defer cancel()
	w := &wizardRun{c: c, env: env, opts: o}
	if err := w.run(ctx, pos[0]); err != nil {
		fmt.Fprintf(env.stderr, "kiln wizard: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// userClient is a client of the user API with the key from KILN_API_KEY.
func userClient(env *environment, server string) (*operatorClient, error) {
	base, err := serverBase(server)
	if err != nil {
		return nil, err
	}
	key := strings.TrimSpace(env.getenv(EnvAPIKey))
	if key == "" {
		return nil, fmt.Errorf("no API key: set %s to your key (an operator issues one with kiln admin create-key CUSTOMER)", EnvAPIKey)
	}
	return &operatorClient{base: base, prefix: "/api/v1", token: config.NewToken(key), http: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// wizSession is the part of a session the CLI reads.
type wizSession struct {
	ID       string `json:"id"`
	State    string `json:"state"`
	Version  int64  `json:"version"`
	Error    string `json:"error"`
	Proposal *struct {
		Tools   []json.RawMessage `json:"tools"`
		Library []struct {
			Name, Version, Tool, Reason string
		} `json:"library"`
	} `json:"proposal"`
	Tools []wizTool `json:"tools"`
}

// wizTool is a tool (or a proposed tool's specification) as the CLI shows it.
type wizTool struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Env         []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Secret      bool   `json:"secret"`
	} `json:"env"`
	Egress  []string          `json:"egress"`
	Samples []json.RawMessage `json:"samples"`
	Status  string            `json:"status"`
	Round   int               `json:"round"`
	Error   string            `json:"error"`
	Results []struct {
		Passed bool `json:"passed"`
	} `json:"sample_results"`
}

// wizardRun is one `kiln wizard` from description to deployed server.
type wizardRun struct {
	c    *operatorClient
	env  *environment
	opts wizardOptions
	in   *bufio.Reader // env.stdin, read a line at a time
}

// readLine reads one answer from stdin ("" at its end).
func (w *wizardRun) readLine() string {
	if w.env.stdin == nil {
		return ""
	}
	if w.in == nil {
		w.in = bufio.NewReader(w.env.stdin)
	}
	line, _ := w.in.ReadString('\n')
	return strings.TrimSpace(line)
}

func (w *wizardRun) run(ctx context.Context, description string) error {
	var s wizSession
	if err := w.callJSON("POST", "/wizard/sessions", map[string]string{"description": description}, &s); err != nil {
		return err
	}
	fmt.Fprintf(w.env.stdout, "Session %s: proposing tools…\n", s.ID)
	s, err := w.settle(ctx, s)
	if err != nil {
		return err
	}
	if s.State != "proposed" || s.Proposal == nil {
		return fmt.Errorf("no proposal (session %s is %s): %s", s.ID, s.State, orDefault(s.Error, "the service gave no reason"))
	}
	w.showProposal(s)
	if err := w.confirm(s); err != nil {
		return err
	}
	if err := w.callJSON("POST", w.path(s, "/accept"), map[string]any{"version": s.Version, "tools": s.Proposal.Tools}, &s); err != nil {
		return err
	}
	if s, err = w.supplySecrets(s); err != nil {
		return err
	}
	if err := w.callJSON("POST", w.path(s, "/generate"), map[string]any{"version": s.Version}, &s); err != nil {
		return err
	}
	fmt.Fprintln(w.env.stdout, "Writing, building and testing the tools…")
	if s, err = w.settle(ctx, s); err != nil {
		return err
	}
	w.showTools(s)
	if s.State != "ready" {
		return fmt.Errorf("no tool passed its sample calls (session %s is %s); edit the tools' source in the API or try again with a clearer description", s.ID, s.State)
	}
	return w.deploy(s)
}

// settle follows the session's events until it rests, printing progress,
// and returns it as it is then.
func (w *wizardRun) settle(ctx context.Context, s wizSession) (wizSession, error) {
	err := w.c.follow(ctx, s.ID, func(e sseEvent) { w.progress(e) })
	if errors.Is(err, context.DeadlineExceeded) {
		return s, fmt.Errorf("gave up after --timeout %s; session %s goes on in the service", w.opts.timeout, s.ID)
	}
	if err != nil {
		return s, err
	}
	var out wizSession
	return out, w.callJSON("GET", w.path(s, ""), nil, &out)
}

// progress prints one event as a line a person can follow.
func (w *wizardRun) progress(e sseEvent) {
	str := func(k string) string { v, _ := e.Data[k].(string); return v }
	switch e.Kind {
	case "tool":
		line := fmt.Sprintf("  %s: %s", e.Tool, str("status"))
		if r, ok := e.Data["round"].(float64); ok && r > 1 {
			line += fmt.Sprintf(" (round %d)", int(r))
		}
		if msg := str("error"); msg != "" {
			line += ": " + msg
		}
		fmt.Fprintln(w.env.stdout, line)
	case "state":
		if msg := str("message"); msg != "" {
			fmt.Fprintf(w.env.stdout, "  session %s: %s\n", str("state"), msg)
		}
	case "resumed":
		fmt.Fprintln(w.env.stdout, "  (the work was resumed on another node)")
	}
}

func (w *wizardRun) showProposal(s wizSession) {
	fmt.Fprintf(w.env.stdout, "\nProposed tools:\n")
	for _, raw := range s.Proposal.Tools {
		var t wizTool
		_ = json.Unmarshal(raw, &t) // the service's own JSON; a missing field prints empty
		fmt.Fprintf(w.env.stdout, "  %s — %s\n", t.Name, t.Description)
		for _, e := range t.Env {
			kind := "env var"
			if e.Secret {
				kind = "secret"
			}
			fmt.Fprintf(w.env.stdout, "      needs %s %s: %s\n", kind, e.Name, e.Description)
		}
		if len(t.Egress) > 0 {
			fmt.Fprintf(w.env.stdout, "      reaches %s\n", strings.Join(t.Egress, ", "))
		}
		for _, sample := range t.Samples {
			fmt.Fprintf(w.env.stdout, "      sample call %s\n", sample)
		}
	}
	for _, l := range s.Proposal.Library {
		fmt.Fprintf(w.env.stdout, "  Your plan's library already has %s %s (%s): %s\n", l.Name, l.Version, l.Tool, l.Reason)
	}
}

// confirm asks the person to accept the proposal, unless --yes.
func (w *wizardRun) confirm(s wizSession) error {
	if w.opts.yes {
		return nil
	}
	fmt.Fprintf(w.env.stdout, "\nAccept these %d tools? [y/N] ", len(s.Proposal.Tools))
	answer := strings.ToLower(w.readLine())
	if answer == "y" || answer == "yes" {
		return nil
	}
	return fmt.Errorf("the proposal was not accepted; nothing was built (session %s stays; pass --yes to accept without asking)", s.ID)
}

// supplySecrets gives the session the value of each secret its tools
// declare: from KILN_SECRET_<NAME>, else asked for (unless --yes). The
// service seals it and never shows it again.
func (w *wizardRun) supplySecrets(s wizSession) (wizSession, error) {
	seen := map[string]bool{}
	for _, t := range s.Tools {
		for _, e := range t.Env {
			if !e.Secret || seen[e.Name] {
				continue
			}
			seen[e.Name] = true
			value := w.env.getenv("KILN_SECRET_" + e.Name)
			if value == "" && !w.opts.yes {
				fmt.Fprintf(w.env.stdout, "Value of the secret %s (%s; empty to skip): ", e.Name, e.Description)
				value = w.readLine()
			}
			if value == "" {
				fmt.Fprintf(w.env.stdout, "  %s has no value, so sample calls that need it will fail; set KILN_SECRET_%s\n", e.Name, e.Name)
				continue
			}
			body := map[string]any{"version": s.Version, "value": value}
			if err := w.callJSON("PUT", w.path(s, "/secrets/"+url.PathEscape(e.Name)), body, &s); err != nil {
				return s, err
			}
		}
	}
	return s, nil
}

func (w *wizardRun) showTools(s wizSession) {
	fmt.Fprintln(w.env.stdout, "\nTools:")
	for _, t := range s.Tools {
		passed := 0
		for _, r := range t.Results {
			if r.Passed {
				passed++
			}
		}
		line := fmt.Sprintf("  %s: %s after %d round(s), %d of %d sample calls passed", t.Name, t.Status, t.Round, passed, len(t.Results))
		if t.Error != "" {
			line += "\n      " + t.Error
		}
		fmt.Fprintln(w.env.stdout, line)
	}
}

// deploy puts the passed tools on a server and prints how to reach it.
func (w *wizardRun) deploy(s wizSession) error {
	var d struct {
		Server struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"server"`
		Tools   []string `json:"tools"`
		MCPPath string   `json:"mcp_path"`
	}
	body := map[string]any{"version": s.Version, "server_id": w.opts.serverID, "server_name": w.opts.serverName}
	if err := w.callJSON("POST", w.path(s, "/deploy"), body, &d); err != nil {
		return err
	}
	key := "kiln_MCP_KEY"
	if w.opts.mcpKey {
		var k struct{ Key string }
		if err := w.callJSON("POST", "/servers/"+d.Server.ID+"/keys", map[string]string{"name": "kiln wizard"}, &k); err != nil {
			return fmt.Errorf("the tools are deployed to %s, but creating its MCP key failed: %w", d.Server.ID, err)
		}
		key = k.Key
	}
	mcpURL := w.c.base + d.MCPPath
	snippet, _ := json.MarshalIndent(map[string]any{"mcpServers": map[string]any{d.Server.Name: map[string]any{
		"type": "http", "url": mcpURL, "headers": map[string]string{"Authorization": "Bearer " + key}}}}, "", "  ")
	fmt.Fprintf(w.env.stdout, "\nDeployed %s to server %s (%s).\nMCP URL: %s\n\nClient configuration:\n%s\n",
		strings.Join(d.Tools, ", "), d.Server.Name, d.Server.ID, mcpURL, snippet)
	if w.opts.mcpKey {
		fmt.Fprintln(w.env.stdout, "\nThe key above is shown this once; store it now.")
		return nil
	}
	fmt.Fprintf(w.env.stdout, "\nkiln_MCP_KEY is a key for this server: create one with --mcp-key, with\n"+
		"  POST /api/v1/servers/%s/keys\nor leave out \"headers\" and let a client that supports OAuth sign in.\n", d.Server.ID)
	return nil
}

func (w *wizardRun) path(s wizSession, step string) string { return "/wizard/sessions/" + s.ID + step }

// callJSON sends body (nil: none) and decodes the answer into out.
func (w *wizardRun) callJSON(method, path string, body, out any) error {
	data, err := w.c.callJSON(method, path, body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("the server's answer to %s %s is not the JSON expected: %w", method, path, err)
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
