// hdh-gotools checks what the project ships with its consumers' own code: kstatus (the library
// Flux, kpt and cli-utils read status with), Argo CD's Lua health runtime, and kind's cluster
// config types. Every subcommand reads JSON (or a file) and prints JSON; bad input exits non-zero
// with the reason on stderr.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
)

const usage = `usage:
  hdh-gotools kstatus                  < object-or-List.json   -> [{"kind","namespace","name","status","message"}]
  hdh-gotools argocd-health SCRIPT.lua < object.json           -> {"status","message"}
  hdh-gotools kind-config FILE                                 -> {"name","nodes":[{"role","labels"}]}
`

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("missing subcommand\n%s", usage))
	}
	var out any
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "kstatus":
		err = wantArgs(cmd, args, 0)
		if err == nil {
			out, err = runKstatus(os.Stdin)
		}
	case "argocd-health":
		err = wantArgs(cmd, args, 1)
		if err == nil {
			out, err = runArgoHealth(args[0], os.Stdin)
		}
	case "kind-config":
		err = wantArgs(cmd, args, 1)
		if err == nil {
			out, err = runKindConfig(args[0])
		}
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		err = fmt.Errorf("unknown subcommand %q\n%s", cmd, usage)
	}
	if err != nil {
		fail(err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func wantArgs(cmd string, args []string, n int) error {
	if len(args) != n {
		return fmt.Errorf("%s takes %d argument(s), got %d\n%s", cmd, n, len(args), usage)
	}
	return nil
}

func readAll(r io.Reader, what string) ([]byte, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", what, err)
	}
	if len(raw) == 0 {
		return nil, fmt.Errorf("no %s on stdin", what)
	}
	return raw, nil
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "hdh-gotools: %v\n", err)
	os.Exit(1)
}
