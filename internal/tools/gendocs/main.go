// Command gendocs writes gocluster's command reference (Markdown) and man
// pages from the cobra command tree: go run ./internal/tools/gendocs docs
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gocluster/gocluster/internal/cli"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gendocs DIR")
		os.Exit(2)
	}
	if err := generate(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func generate(dir string) error {
	root, _ := cli.NewRoot(strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{})
	root.DisableAutoGenTag = true // stable output, no dates
	ref := filepath.Join(dir, "reference")
	man := filepath.Join(dir, "man")
	for _, d := range []string{ref, man} {
		if err := os.RemoveAll(d); err != nil {
			return err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := doc.GenMarkdownTree(root, ref); err != nil {
		return err
	}
	header := &doc.GenManHeader{Title: "GOCLUSTER", Section: "1", Source: "gocluster", Manual: "gocluster manual"}
	if err := doc.GenManTree(root, header, man); err != nil {
		return err
	}
	return completions(root, filepath.Join(dir, "completion"))
}

// completions writes the shell completion scripts that release archives ship.
func completions(root *cobra.Command, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	gens := map[string]func(string) error{
		"gocluster.bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
		"_gocluster":     root.GenZshCompletionFile,
		"gocluster.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
		"gocluster.ps1":  root.GenPowerShellCompletionFileWithDesc,
	}
	for name, gen := range gens {
		if err := gen(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	return nil
}
