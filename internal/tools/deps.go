//go:build tools

// Package tools pins module dependencies that are chosen for the project
// before every package that uses them exists.
package tools

import (
	_ "github.com/AlecAivazis/survey/v2"
	_ "github.com/olekukonko/tablewriter"
	_ "github.com/redis/go-redis/v9"
	_ "github.com/schollz/progressbar/v3"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/cobra/doc"
	_ "golang.org/x/term"
)
