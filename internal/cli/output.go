package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"golang.org/x/term"
)

// printer writes redis-cli style lines (">>> ", "[OK] ", "[ERR] ",
// "[WARNING] "), colored on a terminal unless --no-color, or JSON.
type printer struct {
	w     io.Writer
	color bool
}

const (
	colorBold   = "1"
	colorRed    = "31"
	colorGreen  = "32"
	colorYellow = "33"
)

func (g *globals) printer() *printer {
	return &printer{w: g.stdout, color: !g.noColor && !g.json && isTerminal(g.stdout)}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *printer) paint(code, s string) string {
	if !p.color {
		return s
	}
	return "\033[" + code + "m" + s + "\033[0m"
}

func (p *printer) line(code, format string, a ...any) {
	fmt.Fprintln(p.w, p.paint(code, fmt.Sprintf(format, a...)))
}

// Plain prints a line as is.
func (p *printer) Plain(format string, a ...any) { fmt.Fprintf(p.w, format+"\n", a...) }

// Info prints a step heading, e.g. ">>> Performing Cluster Check".
func (p *printer) Info(format string, a ...any) { p.line(colorBold, format, a...) }

// OK prints a success line ("[OK] ...").
func (p *printer) OK(format string, a ...any) { p.line(colorGreen, format, a...) }

// Err prints an error line ("[ERR] ...").
func (p *printer) Err(format string, a ...any) { p.line(colorRed, format, a...) }

// Warn prints a warning line ("[WARNING] ...", "*** ...").
func (p *printer) Warn(format string, a ...any) { p.line(colorYellow, format, a...) }

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
