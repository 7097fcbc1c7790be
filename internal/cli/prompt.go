package cli

import (
	"bufio"
	"fmt"
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
// --yes answers it. Without a terminal the answer is read from standard
// input, one line per question, as scripts feed redis-cli (`<<< yes`,
// `echo yes |`); an empty or closed standard input is a usage error, so
// CI fails fast instead of hanging.
func confirm(g *globals, question string) (bool, error) {
	if g.yes {
		return true, nil
	}
	if !g.interactive() {
		return confirmFromStdin(g, question)
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

// confirmFromStdin reads one answer line from a non-terminal standard
// input. Like redis-cli, which reads the first bytes of the answer, it
// accepts a line that starts with "yes".
func confirmFromStdin(g *globals, question string) (bool, error) {
	if g.answers == nil {
		g.answers = bufio.NewReader(g.stdin)
	}
	line, err := g.answers.ReadString('\n')
	if line == "" && err != nil {
		return false, usagef("%q needs an answer but there is no terminal and standard input is empty: pass --yes (or set REDISCLI_CLUSTER_YES=1), or pipe the answer in",
			strings.TrimSpace(question))
	}
	answer := strings.TrimRight(line, "\r\n")
	fmt.Fprintf(g.stdout, "%s%s\n", question, answer)
	return strings.HasPrefix(answer, "yes"), nil
}

// requireTTY fails with a usage error naming the missing flags when a
// wizard would be needed but no terminal is there.
func requireTTY(g *globals, missing ...string) error {
	if g.interactive() {
		return nil
	}
	return usagef("missing %s (no terminal to ask on)", strings.Join(missing, ", "))
}
