package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/watch"
	"github.com/muesli/termenv"
)

// ownerLetters name masters on the slot map, in order; masters past the
// last letter share '*'.
const ownerLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// Slot map characters for what is not one owner's plain segment.
const (
	mapHole   = '.' // some slot in the segment is served by nobody
	mapOpen   = '~' // some slot in the segment is migrating or importing
	mapHidden = '-' // served by a master filtered out of the view
)

// ownerPalette is one background colour per owner (ANSI 256), cycled.
var ownerPalette = []string{"33", "208", "35", "171", "220", "45", "203", "118", "99", "214", "39", "161"}

func ownerLetter(o int16) byte {
	switch {
	case o == watch.OwnerNone:
		return mapHole
	case o == watch.OwnerHidden:
		return mapHidden
	case int(o) < len(ownerLetters):
		return ownerLetters[o]
	}
	return '*'
}

// slotMapStyle draws segments: plain letters, or with colour a letter on
// its owner's background colour (holes red, open segments yellow).
type slotMapStyle struct {
	color bool
	r     *lipgloss.Renderer
}

func newSlotMapStyle(w io.Writer, color bool) slotMapStyle {
	st := slotMapStyle{color: color}
	if color {
		st.r = lipgloss.NewRenderer(w)
		st.r.SetColorProfile(termenv.ANSI256)
	}
	return st
}

func (st slotMapStyle) paint(letter byte, o int16, open bool, run int) string {
	text := strings.Repeat(string(letter), run)
	if !st.color {
		return text
	}
	s := st.r.NewStyle().Foreground(lipgloss.Color("16"))
	switch {
	case o == watch.OwnerNone:
		s = s.Background(lipgloss.Color("196")).Foreground(lipgloss.Color("231"))
	case open:
		s = s.Background(lipgloss.Color("226"))
	case o == watch.OwnerHidden:
		s = s.Background(lipgloss.Color("240"))
	default:
		s = s.Background(lipgloss.Color(ownerPalette[int(o)%len(ownerPalette)]))
	}
	return s.Render(text)
}

// band renders the 16384 slots as rows×width segments, one character each:
// the owner's letter (a hole or open slot wins over the owner).
func (st slotMapStyle) band(owner *[slots.Count]int16, open []int, width, rows int) []string {
	width = max(width, 8)
	cells := watch.Band(owner, open, width*rows)
	var lines []string
	for r := 0; r*width < len(cells); r++ {
		row := cells[r*width : min((r+1)*width, len(cells))]
		var b strings.Builder
		for i := 0; i < len(row); {
			letter, o, op := cellLook(row[i])
			j := i + 1
			for j < len(row) {
				l2, o2, op2 := cellLook(row[j])
				if l2 != letter || o2 != o || op2 != op {
					break
				}
				j++
			}
			b.WriteString(st.paint(letter, o, op, j-i))
			i = j
		}
		lines = append(lines, fmt.Sprintf("%5d %s", row[0].First, b.String()))
	}
	return lines
}

func cellLook(c watch.Cell) (byte, int16, bool) {
	if c.Open && c.Owner != watch.OwnerNone {
		return mapOpen, c.Owner, true
	}
	return ownerLetter(c.Owner), c.Owner, false
}

// legend names each owner: letter, address, slots and share off the even split.
func (st slotMapStyle) legend(addrs []string, slotCounts []int, hole, open int) []string {
	var out []string
	even := float64(slots.Count) / float64(max(len(addrs), 1))
	for i, a := range addrs {
		o := int16(i)
		off := 100 * (float64(slotCounts[i]) - even) / even
		out = append(out, fmt.Sprintf("%s %-21s %5d slots (%+.1f%%)", st.paint(ownerLetter(o), o, false, 1), a, slotCounts[i], off))
	}
	if hole > 0 {
		out = append(out, fmt.Sprintf("%s unassigned: %d slots", st.paint(mapHole, watch.OwnerNone, false, 1), hole))
	}
	if open > 0 {
		out = append(out, fmt.Sprintf("%s migrating or importing: %d slots", st.paint(mapOpen, 0, true, 1), open))
	}
	return out
}
