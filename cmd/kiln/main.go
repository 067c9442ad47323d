// Command kiln is the Kiln binary: the service and the tools around it.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

const usage = `kiln hosts sandboxed MCP tools compiled to WebAssembly.

Usage:
  kiln <command> [arguments]

Commands:
  serve     run the Kiln service (HTTP API and health endpoint)
  migrate   apply the database migrations and exit
  admin     operator commands: customers, plans, API keys, OAuth clients and keys, audit log
  create-user  create a local account (OAuth login) for a customer's user
  library   sign, verify and push library modules
  wizard    turn a description into deployed tools (the service's LLM wizard); "wizard eval" rates the prompts
  build     build a Go tool source directory into a tool module (.wasm)
  run       call one tool of a module in the sandbox and print the result
  replay    re-run a recorded call from the execution log and compare result and fuel
  inspect   print a module's hash and manifest
  embed     attach a manifest to a module built without the Go toolkit
  instrument  rewrite a module with fuel metering (the sandbox does it on load)

Run "kiln <command> --help" for a command's flags. Every flag can also be set
by the KILN_* environment variable named in its help.
`

// command is one subcommand. run returns the process exit status.
type command struct {
	name string
	run  func(env *environment, args []string) int
}

// environment is what a command may touch; tests substitute their own.
type environment struct {
	stdin          io.Reader // nil reads as empty
	stdout, stderr io.Writer
	getenv         func(string) string
}

func main() {
	env := &environment{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	os.Exit(dispatch(env, os.Args[1:]))
}

func dispatch(env *environment, args []string) int {
	commands := []command{
		{"serve", runServe},
		{"migrate", runMigrate},
		{"admin", runAdmin},
		{"create-user", runCreateUser},
		{"library", runLibrary},
		{"wizard", runWizard},
		{"build", runBuild},
		{"run", runRun},
		{"replay", runReplay},
		{"inspect", runInspect},
		{"embed", runEmbed},
		{"instrument", runInstrument},
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(env.stdout, usage)
		if len(args) == 0 {
			return exitUsage
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(env, args[1:])
		}
	}
	fmt.Fprintf(env.stderr, "kiln: unknown command %q. Run \"kiln --help\" for the list.\n", args[0])
	return exitUsage
}

// Exit statuses shared by every command; `kiln run` adds one per outcome.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
	exitHelp   = -1 // internal marker: help was printed, exit 0
)

// newFlagSet returns a FlagSet that prints help on env.stderr and does not exit.
func newFlagSet(env *environment, name, synopsis, description string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(env.stderr)
	fs.Usage = func() {
		fmt.Fprintf(env.stderr, "Usage: kiln %s %s\n\n%s\n\nFlags:\n", name, synopsis, description)
		fs.PrintDefaults()
	}
	return fs
}

// parseArgs parses flags anywhere on the command line (kiln run tool.wasm
// --tool x) and returns the positional arguments. The status is exitUsage
// on a bad flag and exitHelp when help was requested.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, int) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, exitHelp
			}
			return nil, exitUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, exitOK
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// parseExact parses flags and requires exactly n positional arguments.
// ok=false means the caller returns status.
func parseExact(env *environment, fs *flag.FlagSet, args []string, n int) (pos []string, status int, ok bool) {
	pos, status = parseArgs(fs, args)
	switch {
	case status == exitHelp:
		return nil, exitOK, false
	case status != exitOK:
		return nil, status, false
	case len(pos) != n:
		fmt.Fprintf(env.stderr, "kiln %s: expected %d argument(s), got %d\n", fs.Name(), n, len(pos))
		fs.Usage()
		return nil, exitUsage, false
	}
	return pos, exitOK, true
}
