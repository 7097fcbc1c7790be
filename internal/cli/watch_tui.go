package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/lipgloss/table"
	"github.com/gocluster/gocluster/pkg/watch"
	"github.com/muesli/termenv"
)

// watchModel is the live view (bubbletea): it polls once per interval,
// and renders the last snapshot sorted and filtered as the keys ask.
type watchModel struct {
	ctx     context.Context
	w       *watch.Watcher
	o       watchOptions
	seed    string
	st      slotMapStyle
	r       *lipgloss.Renderer
	snap    *watch.Snapshot // as polled: unsorted, unfiltered
	err     error
	ticks   int
	width   int
	height  int
	hostIdx int // 0: all hosts, else hosts[hostIdx-1]
}

type pollMsg struct {
	snap    *watch.Snapshot
	err     error
	started time.Time
}

type tickMsg struct{}

func runWatchTUI(ctx context.Context, g *globals, w *watch.Watcher, o watchOptions) error {
	color := g.printer().color
	m := &watchModel{ctx: ctx, w: w, o: o, seed: w.Seed(), st: newSlotMapStyle(g.stdout, color),
		r: lipgloss.NewRenderer(g.stdout), width: 120, height: 40}
	if !color {
		m.r.SetColorProfile(termenv.Ascii)
	}
	final, err := tea.NewProgram(m, tea.WithContext(ctx), tea.WithInput(g.stdin), tea.WithOutput(g.stdout),
		tea.WithAltScreen()).Run()
	if errors.Is(err, tea.ErrProgramKilled) || errors.Is(err, context.Canceled) {
		return nil
	}
	if err != nil {
		return err
	}
	if fm, ok := final.(*watchModel); ok && fm.snap == nil && fm.err != nil {
		return fm.err
	}
	return nil
}

func (m *watchModel) Init() tea.Cmd { return m.poll() }

func (m *watchModel) poll() tea.Cmd {
	return func() tea.Msg {
		started := time.Now()
		ctx, cancel := context.WithTimeout(m.ctx, max(m.o.interval, 2*time.Second))
		defer cancel()
		snap, err := m.w.Poll(ctx)
		return pollMsg{snap: snap, err: err, started: started}
	}
}

func (m *watchModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyMsg:
		switch msg.String() {
		case "q", "ctrl+c", "esc":
			return m, tea.Quit
		case "s":
			i := slices.Index(watchSorts, m.o.sortBy)
			m.o.sortBy = watchSorts[(i+1)%len(watchSorts)]
		case "m":
			m.o.mastersOnly = !m.o.mastersOnly
		case "h":
			m.hostIdx = (m.hostIdx + 1) % (len(m.hosts()) + 1)
			m.o.host = ""
			if m.hostIdx > 0 {
				m.o.host = m.hosts()[m.hostIdx-1]
			}
		case "p":
			m.o.showMap = !m.o.showMap
		}
	case pollMsg:
		m.ticks++
		if msg.err != nil {
			m.err = msg.err
		} else {
			m.snap, m.err = msg.snap, nil
		}
		if m.o.count > 0 && m.ticks >= m.o.count {
			return m, tea.Quit
		}
		wait := m.o.interval - time.Since(msg.started)
		return m, tea.Tick(max(wait, 0), func(time.Time) tea.Msg { return tickMsg{} })
	case tickMsg:
		return m, m.poll()
	}
	return m, nil
}

// hosts lists the hosts of the last snapshot, for the h key.
func (m *watchModel) hosts() []string {
	if m.snap == nil {
		return nil
	}
	var hs []string
	for _, n := range m.snap.Nodes {
		if !slices.Contains(hs, n.Host) {
			hs = append(hs, n.Host)
		}
	}
	slices.Sort(hs)
	return hs
}

func (m *watchModel) View() string {
	bold := m.r.NewStyle().Bold(true)
	var b strings.Builder
	fmt.Fprintf(&b, "%s  every %s  %s\n", bold.Render("gocluster watch "+m.seed), m.o.interval, time.Now().Format("15:04:05"))
	if m.err != nil {
		b.WriteString(m.r.NewStyle().Foreground(lipgloss.Color("9")).Render("poll failed: "+m.err.Error()) + "\n")
	}
	if m.snap == nil {
		b.WriteString("polling...\n")
		return b.String()
	}
	s := *m.snap // the Owner array is copied too: sorting keeps the poll intact
	s.Nodes = slices.Clone(s.Nodes)
	s.Sort(m.o.sortBy)
	s.Filter(m.o.mastersOnly, m.o.host)
	b.WriteString(watchSummary(&s) + "\n")

	var below []string
	below = append(below, openSlotLines(&s, 5)...)
	if m.o.showMap {
		band, legend := watchMap(m.st, &s, max(m.width-8, 16), 2)
		below = append(append(below, band...), packLine(legend, m.width)...)
	}
	filter := "all"
	if m.o.host != "" {
		filter = m.o.host
	}
	if m.o.mastersOnly {
		filter += ", masters"
	}
	footer := fmt.Sprintf("sort: %s (s)  show: %s (m, h)  map (p)  quit (q)", m.o.sortBy, filter)

	rows := make([][]string, len(s.Nodes))
	for i, r := range s.Nodes {
		rows[i] = watchCells(r)
	}
	failing := func(r watch.NodeRow) bool {
		return r.Error != "" || slices.Contains(r.Flags, "fail") || slices.Contains(r.Flags, "pfail")
	}
	header := m.r.NewStyle().Bold(true).Padding(0, 1)
	cell := m.r.NewStyle().Padding(0, 1)
	bad := cell.Foreground(lipgloss.Color("9"))
	t := table.New().Border(lipgloss.NormalBorder()).BorderRow(false).Headers(watchHeader...).Rows(rows...).
		Width(m.width).Wrap(false).
		StyleFunc(func(row, col int) lipgloss.Style {
			switch {
			case row == table.HeaderRow:
				return header
			case row < len(s.Nodes) && failing(s.Nodes[row]):
				return bad
			}
			return cell
		})
	// Rows get whatever height the other lines leave.
	if avail := m.height - 3 - len(below) - 1; avail > 4 {
		t.Height(avail)
	}
	b.WriteString(t.Render() + "\n")
	for _, l := range below {
		b.WriteString(l + "\n")
	}
	b.WriteString(footer)
	return b.String()
}

// packLine puts entries side by side, as many as fit the width per line.
func packLine(entries []string, width int) []string {
	var out []string
	line := ""
	for _, e := range entries {
		if line != "" && lipgloss.Width(line)+3+lipgloss.Width(e) > width {
			out = append(out, line)
			line = ""
		}
		if line != "" {
			line += "   "
		}
		line += e
	}
	if line != "" {
		out = append(out, line)
	}
	return out
}
