package cli

import (
	"os"
	"strings"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
	"golang.org/x/term"
)

// interactive reports whether prompts can be shown: stdin and stdout are
// terminals. Without one, gocluster never waits on stdin.
func (g *globals) interactive() bool {
	in, ok := g.stdin.(*os.File)
	return ok && term.IsTerminal(int(in.Fd())) && isTerminal(g.stdout)
}

// surveyIO wires survey to gocluster's streams.
func (g *globals) surveyIO() survey.AskOpt {
	return survey.WithStdio(g.stdin.(terminal.FileReader), g.stdout.(terminal.FileWriter), g.stderr)
}

// confirm asks redis-cli's question, which wants the word "yes" typed out.
// --yes answers it; with no terminal and no --yes it is a usage error, so
// scripts and CI fail fast instead of hanging.
func confirm(g *globals, question string) (bool, error) {
	if g.yes {
		return true, nil
	}
	if !g.interactive() {
		return false, usagef("%q needs an answer but there is no terminal: pass --yes (or set REDISCLI_CLUSTER_YES=1)",
			strings.TrimSpace(question))
	}
	var answer string
	if err := survey.AskOne(&survey.Input{Message: question}, &answer, g.surveyIO()); err != nil {
		if err == terminal.InterruptErr {
			return false, exitError{ExitSignal}
		}
		return false, err
	}
	return strings.TrimSpace(answer) == "yes", nil
}

// requireTTY fails with a usage error naming the missing flags when a
// wizard would be needed but no terminal is there.
func requireTTY(g *globals, missing ...string) error {
	if g.interactive() {
		return nil
	}
	return usagef("missing %s (no terminal to ask on)", strings.Join(missing, ", "))
}
