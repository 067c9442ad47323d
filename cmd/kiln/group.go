package main

import (
	"fmt"
	"strings"
)

// subcommand is one command of a group such as `kiln admin`.
type subcommand struct {
	name, summary string
	run           func(env *environment, args []string) int
}

// runGroup dispatches `kiln <group> <sub> ...` and prints the group's help.
func runGroup(env *environment, group, description string, subs []subcommand, args []string) int {
	help := func() {
		var b strings.Builder
		fmt.Fprintf(&b, "Usage: kiln %s <command> [arguments]\n\n%s\n\nCommands:\n", group, description)
		for _, s := range subs {
			fmt.Fprintf(&b, "  %-16s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(&b, "\nRun \"kiln %s <command> --help\" for a command's flags.\n", group)
		fmt.Fprint(env.stderr, b.String())
	}
	if len(args) == 0 {
		help()
		return exitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		help()
		return exitOK
	}
	for _, s := range subs {
		if s.name == args[0] {
			return s.run(env, args[1:])
		}
	}
	fmt.Fprintf(env.stderr, "kiln %s: unknown command %q. Run \"kiln %s --help\" for the list.\n", group, args[0], group)
	return exitUsage
}
