package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/AlecAivazis/survey/v2"
	"github.com/AlecAivazis/survey/v2/terminal"
	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// allSources is the wizard's choice meaning every master but the target.
const allSources = "all: every master except the target"

// reshardWizard asks on the terminal for what reshard's flags left out:
// how many slots, the receiving master (picked from a list showing
// address, slots and keys) and the sources (several, or all).
func reshardWizard(g *globals, info *admin.InfoResult, c *topology.Cluster, o *admin.ReshardOptions) error {
	keys := map[string]int64{}
	for _, m := range info.Masters {
		keys[m.ID] = m.Keys
	}
	label := func(n *topology.Node) string {
		return fmt.Sprintf("%-21s %s  %5d slots  %8d keys", n.Addr(), shortID(n.ID), n.Slots.Len(), keys[n.ID])
	}
	masters := c.Masters()
	if o.Slots == 0 {
		var answer string
		q := &survey.Input{Message: fmt.Sprintf("How many slots do you want to move (from 1 to %d)?", slots.Count)}
		validate := func(v any) error {
			n, err := strconv.Atoi(strings.TrimSpace(fmt.Sprint(v)))
			if err != nil || n < 1 || n > slots.Count {
				return fmt.Errorf("type a number from 1 to %d", slots.Count)
			}
			return nil
		}
		if err := ask(g, q, &answer, survey.WithValidator(validate)); err != nil {
			return err
		}
		o.Slots, _ = strconv.Atoi(strings.TrimSpace(answer))
	}
	if o.To == "" {
		options := make([]string, len(masters))
		for i, m := range masters {
			options[i] = label(m)
		}
		var idx int
		if err := ask(g, &survey.Select{Message: "What is the receiving node?", Options: options}, &idx); err != nil {
			return err
		}
		o.To = masters[idx].ID
	}
	if len(o.From) == 0 {
		target, err := c.Find(o.To)
		if err != nil {
			return usageErr(err)
		}
		options := []string{allSources}
		var candidates []*topology.Node
		for _, m := range masters {
			if m.ID != target.ID && m.Slots.Len() > 0 {
				candidates = append(candidates, m)
				options = append(options, label(m))
			}
		}
		var picked []int
		q := &survey.MultiSelect{Message: "Source nodes (space selects, enter confirms):", Options: options}
		if err := ask(g, q, &picked, survey.WithValidator(survey.MinItems(1))); err != nil {
			return err
		}
		for _, i := range picked {
			if i == 0 {
				o.From = []string{"all"}
				break
			}
			o.From = append(o.From, candidates[i-1].ID)
		}
	}
	return nil
}

// ask runs one survey question on gocluster's streams; Ctrl-C ends the
// command with the interrupt exit code.
func ask(g *globals, q survey.Prompt, answer any, opts ...survey.AskOpt) error {
	if err := survey.AskOne(q, answer, append(opts, g.surveyIO())...); err != nil {
		if err == terminal.InterruptErr {
			return exitError{ExitSignal}
		}
		return err
	}
	return nil
}
