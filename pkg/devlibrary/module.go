package devlibrary

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"go/parser"
	"go/token"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kilnhq/kiln/pkg/build"
	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/store"
)

// States of the work (Status.State).
const (
	StateBuilding = "building"
	StateDone     = "done"
	// StateFailed: some modules (or reading the sources) failed; the
	// others are registered.
	StateFailed = "failed"
	// StateStopped: the node stopped before the end; the next start
	// finishes.
	StateStopped = "stopped"
	// StateAbsent: not a source checkout, nothing to build.
	StateAbsent = "absent"
)

// States of a module (Module.State).
const (
	ModulePending    = "pending"
	ModuleBuilding   = "building"
	ModuleRegistered = "registered"
	// ModulePresent: the catalogue had this version already.
	ModulePresent = "present"
	ModuleFailed  = "failed"
)

// Status is the progress the library page shows, stored as JSON.
type Status struct {
	State   string `json:"state"`
	Message string `json:"message,omitempty"`
	// Total counts the modules; Current is the one being built (from 1),
	// zero when none is.
	Total      int        `json:"total"`
	Current    int        `json:"current,omitempty"`
	Modules    []Module   `json:"modules"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Module is one library module's progress.
type Module struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	MinTier string `json:"min_tier"`
	State   string `json:"state"`
	// Error says why it failed; Output is the compiler's (file:line:
	// message lines) when the build did.
	Error  string `json:"error,omitempty"`
	Output string `json:"output,omitempty"`
}

// maxOutput bounds the compiler output kept in the status.
const maxOutput = 8 << 10

// add builds m from files, signs and registers it.
func (l *Library) add(ctx context.Context, m *Module, files map[string][]byte) error {
	art, err := l.cfg.Builds.Build(ctx, Actor, build.DefaultPolicy(), files)
	if err != nil {
		return err
	}
	sig, err := signing.Sign(*l.cfg.Key, art.Wasm)
	if err != nil {
		return fmt.Errorf("signing: %w", err)
	}
	// The same check an upload gets: the module loads in the sandbox.
	mod, err := l.cfg.Engine.Load(ctx, art.Wasm)
	if err != nil {
		return fmt.Errorf("the sandbox refused the module: %w", err)
	}
	doc, err := json.Marshal(mod.Manifest)
	if err != nil {
		return fmt.Errorf("encoding the manifest: %w", err)
	}
	row := store.Module{Hash: mod.Hash, Manifest: doc}
	lib := store.LibraryModule{Name: m.Name, Version: m.Version, ModuleHash: mod.Hash, Description: description(m.Name, files["main.go"]),
		Signature: sig.Marshal(), Signer: l.cfg.Key.Public().ID(), MinTier: m.MinTier, UploadedBy: Actor}
	details, err := json.Marshal(map[string]any{"module_hash": mod.Hash, "signer": lib.Signer, "min_tier": lib.MinTier, "source_key": art.SourceKey})
	if err != nil {
		return err
	}
	err = l.cfg.Store.InTx(ctx, func(tx *store.Store) error {
		if err := tx.PutModule(ctx, &row, art.Wasm); err != nil {
			return err
		}
		if err := tx.CreateLibraryModule(ctx, &lib); err != nil {
			return err
		}
		return tx.RecordAudit(ctx, &store.AuditEntry{Actor: Actor, Action: store.ActionLibraryUpload,
			Target: m.Name + "@" + m.Version, Details: details})
	})
	if errors.Is(err, store.ErrConflict) {
		m.State = ModulePresent // registered meanwhile, by an operator or another node
		return nil
	}
	return err
}

// description is the first sentence of the module's package comment after
// "Command NAME is a curated Kiln library module:", capitalised; or a
// plain one.
func description(name string, mainGo []byte) string {
	plain := "The " + name + " library module."
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", mainGo, parser.PackageClauseOnly|parser.ParseComments)
	if err != nil || f.Doc == nil {
		return plain
	}
	text, _, _ := strings.Cut(f.Doc.Text(), "\n\n")
	text = strings.Join(strings.Fields(text), " ")
	if _, after, ok := strings.Cut(text, "library module: "); ok {
		text = after
	}
	r, size := utf8.DecodeRuneInString(text)
	if size == 0 {
		return plain
	}
	return string(unicode.ToUpper(r)) + text[size:]
}

// failure says in a sentence why a module failed.
func failure(err error) string {
	var (
		be *build.Error
		ve *build.ValidationError
		de *build.DescribeError
	)
	switch {
	case errors.As(err, &be) && be.Limit != "":
		return "The build ran into its " + be.Limit + " limit."
	case errors.As(err, &be):
		return "The module does not compile."
	case errors.As(err, &ve):
		return "The source was refused before compiling."
	case errors.As(err, &de):
		return de.Error()
	}
	return err.Error()
}

// compilerOutput is what the compiler or the validation said, at lines.
func compilerOutput(err error) string {
	var (
		be  *build.Error
		ve  *build.ValidationError
		out string
	)
	switch {
	case errors.As(err, &be):
		out = be.Output
	case errors.As(err, &ve):
		lines := make([]string, 0, len(ve.Problems))
		for _, p := range ve.Problems {
			lines = append(lines, p.String())
		}
		out = strings.Join(lines, "\n")
	}
	out = strings.TrimSpace(out)
	if len(out) > maxOutput {
		out = out[:maxOutput] + "\n…"
	}
	return out
}
