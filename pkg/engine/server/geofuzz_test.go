package server

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
	"github.com/gocluster/gocluster/pkg/engine/geo"
	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// geoFuzz builds random geo commands: points spread over the globe and
// crowded at the places where geohash boxes meet (the poles' limits, the
// antimeridian, the equator and prime meridian), stacked points (equal
// distances, where only the exact sort order tells Redis's answer), and
// searches of every size from zero to infinite.
type geoFuzz struct {
	r       *rand.Rand
	members []string
}

// hotSpots are centers where neighbouring boxes wrap or end.
var hotSpots = [][2]float64{
	{180, 0}, {-180, 0}, {0, 0}, {179.9999, 45}, {-179.9999, -45}, {0, 85.05112878}, {0, -85.05112878},
	{180, 85.05112878}, {-180, -85.05112878}, {90, 66}, {-90, -80.5}, {45, 0.00001}, {13.361389, 38.115556},
}

func fmtFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

func (g *geoFuzz) coord() (float64, float64) {
	switch g.r.IntN(4) {
	case 0:
		return g.r.Float64()*360 - 180, g.r.Float64()*2*85.05112878 - 85.05112878
	default:
		h := hotSpots[g.r.IntN(len(hotSpots))]
		spread := math.Pow(10, -float64(g.r.IntN(7))) // 1 .. 1e-6 degrees
		lon := h[0] + (g.r.Float64()*2-1)*spread
		lat := h[1] + (g.r.Float64()*2-1)*spread
		return math.Max(-180, math.Min(180, lon)), math.Max(-85.05112878, math.Min(85.05112878, lat))
	}
}

// addCommands fills key with n members, some of them on the same spot.
func (g *geoFuzz) addCommands(key string, n int) [][]string {
	var cmds [][]string
	cmd := []string{"GEOADD", key}
	for i := 0; i < n; i++ {
		lon, lat := g.coord()
		copies := 1
		if g.r.IntN(8) == 0 {
			copies = 2 + g.r.IntN(4)
		}
		for c := 0; c < copies; c++ {
			m := "m" + strconv.Itoa(len(g.members))
			g.members = append(g.members, m)
			cmd = append(cmd, fmtFloat(lon), fmtFloat(lat), m)
		}
		if len(cmd) > 150 {
			cmds = append(cmds, cmd)
			cmd = []string{"GEOADD", key}
		}
	}
	if len(cmd) > 2 {
		cmds = append(cmds, cmd)
	}
	return cmds
}

func (g *geoFuzz) member() string {
	if g.r.IntN(20) == 0 {
		return "nomember"
	}
	return g.members[g.r.IntN(len(g.members))]
}

func (g *geoFuzz) size() string {
	switch g.r.IntN(12) {
	case 0:
		return "0"
	case 1:
		return []string{"1e300", "inf", "0.0001", "20037726.37", "1e-300"}[g.r.IntN(5)]
	}
	return fmtFloat(math.Pow(10, g.r.Float64()*8)) // 1 m .. 100 000 km
}

func (g *geoFuzz) unit() string { return []string{"m", "km", "ft", "mi", "M", "Km"}[g.r.IntN(6)] }

func (g *geoFuzz) options(store bool) []string {
	var opts []string
	if !store {
		for _, o := range []string{"WITHDIST", "WITHHASH", "WITHCOORD"} {
			if g.r.IntN(2) == 0 {
				opts = append(opts, o)
			}
		}
	}
	switch g.r.IntN(3) {
	case 0:
		opts = append(opts, "ASC")
	case 1:
		opts = append(opts, "DESC")
	}
	if g.r.IntN(2) == 0 {
		opts = append(opts, "COUNT", strconv.Itoa(1+g.r.IntN(len(g.members)/4+2)))
		if g.r.IntN(3) == 0 {
			opts = append(opts, "ANY")
		}
	}
	g.r.Shuffle(len(opts), func(i, j int) {
		// keep COUNT next to its number: shuffle only when neither is part of it
		if isCountPart(opts, i) || isCountPart(opts, j) {
			return
		}
		opts[i], opts[j] = opts[j], opts[i]
	})
	return opts
}

func isCountPart(opts []string, i int) bool {
	return opts[i] == "COUNT" || i > 0 && opts[i-1] == "COUNT"
}

// search returns one search command, and for the storing ones the
// command that reads the result back.
func (g *geoFuzz) search(key string) [][]string {
	lon, lat := g.coord()
	store := g.r.IntN(5) == 0
	var cmd []string
	switch g.r.IntN(6) {
	case 0:
		cmd = []string{"GEORADIUS", key, fmtFloat(lon), fmtFloat(lat), g.size(), g.unit()}
	case 1:
		cmd = []string{"GEORADIUS_RO", key, fmtFloat(lon), fmtFloat(lat), g.size(), g.unit()}
		store = false
	case 2:
		cmd = []string{"GEORADIUSBYMEMBER", key, g.member(), g.size(), g.unit()}
	case 3:
		cmd = []string{"GEORADIUSBYMEMBER_RO", key, g.member(), g.size(), g.unit()}
		store = false
	default:
		cmd = []string{"GEOSEARCH", key}
		if store {
			cmd = []string{"GEOSEARCHSTORE", "dst", key}
		}
		if g.r.IntN(2) == 0 {
			cmd = append(cmd, "FROMMEMBER", g.member())
		} else {
			cmd = append(cmd, "FROMLONLAT", fmtFloat(lon), fmtFloat(lat))
		}
		if g.r.IntN(2) == 0 {
			cmd = append(cmd, "BYRADIUS", g.size(), g.unit())
		} else {
			cmd = append(cmd, "BYBOX", g.size(), g.size(), g.unit())
		}
		cmd = append(cmd, g.options(store)...)
		if store && g.r.IntN(2) == 0 {
			cmd = append(cmd, "STOREDIST")
		}
		if store {
			return [][]string{cmd, {"ZRANGE", "dst", "0", "-1", "WITHSCORES"}}
		}
		return [][]string{cmd}
	}
	cmd = append(cmd, g.options(store)...)
	if store {
		cmd = append(cmd, []string{"STORE", "STOREDIST"}[g.r.IntN(2)], "dst")
		return [][]string{cmd, {"ZRANGE", "dst", "0", "-1", "WITHSCORES"}}
	}
	return [][]string{cmd}
}

func (g *geoFuzz) lookup(key string) []string {
	switch g.r.IntN(3) {
	case 0:
		return []string{"GEODIST", key, g.member(), g.member(), g.unit()}
	case 1:
		return []string{"GEOPOS", key, g.member(), g.member(), g.member()}
	}
	return []string{"GEOHASH", key, g.member(), g.member(), g.member()}
}

// TestGeoFuzzMatchesRedisServer sends the same random geo sets, searches
// and lookups to redis-server 7.0 and the engine, each command in RESP2
// and in RESP3, and requires identical replies: the same members at the
// edges, the same order for equal distances, the same digits.
// GEO_FUZZ_SEED picks another seed, GEO_FUZZ_ROUNDS more searches.
func TestGeoFuzzMatchesRedisServer(t *testing.T) {
	seed := uint64(20240607)
	if s, err := strconv.ParseUint(os.Getenv("GEO_FUZZ_SEED"), 10, 64); err == nil {
		seed = s
	}
	rounds := 600
	if n, err := strconv.Atoi(os.Getenv("GEO_FUZZ_ROUNDS")); err == nil {
		rounds = n
	}
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real := [2]*rawConn{dial(t, rs.Addr()), dial(t, rs.Addr())}
	eng := [2]*rawConn{dial(t, es.Addr().String()), dial(t, es.Addr().String())}
	real[1].do(t, "HELLO", "3")
	eng[1].do(t, "HELLO", "3")

	g := &geoFuzz{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	var script [][]string
	script = append(script, g.addCommands("big", 1500)...)
	small := len(g.members)
	script = append(script, g.addCommands("small", 60)...)
	for i := 0; i < rounds; i++ {
		key := "big"
		if i%4 == 3 {
			key = "small"
		}
		if i%5 == 4 {
			script = append(script, g.lookup(key))
			continue
		}
		script = append(script, g.search(key)...)
	}
	_ = small
	failures := 0
	for _, cmd := range script {
		for p := 0; p < 2; p++ {
			want, got := real[p].do(t, cmd...), eng[p].do(t, cmd...)
			if !reflect.DeepEqual(want, got) && !(cmd[0] == "ZRANGE" && !geo.LibmExact && sameWithinUlps(want, got)) {
				failures++
				t.Errorf("RESP%d %s:\n%s", p+2, strings.Join(cmd, " "), replyDiff(want, got))
			}
		}
		if failures >= 10 {
			t.Fatalf("stopping after %d differences (seed %d)", failures, seed)
		}
	}
}

// replyDiff shows where two long replies part: the first differing
// element of an array, with the lengths.
func replyDiff(want, got resp.Reply) string {
	if want.Type == got.Type && len(want.Elems) > 0 && len(got.Elems) > 0 {
		for i := 0; i < len(want.Elems) && i < len(got.Elems); i++ {
			if !reflect.DeepEqual(want.Elems[i], got.Elems[i]) {
				return fmt.Sprintf("  element %d of %d/%d:\n  redis:  %s\n  engine: %s", i, len(want.Elems), len(got.Elems),
					show(want.Elems[i]), show(got.Elems[i]))
			}
		}
	}
	return fmt.Sprintf("  redis:  %.1500s\n  engine: %.1500s", show(want), show(got))
}

// sameWithinUlps compares two ZRANGE WITHSCORES replies allowing the
// scores a few ulps apart: STOREDIST scores are full-precision distances,
// and without cgo the engine's sin/cos/asin differ from glibc's by one ulp
// about once in a thousand calls (see package geo).
func sameWithinUlps(want, got resp.Reply) bool {
	flat := func(r resp.Reply) []resp.Reply {
		var out []resp.Reply
		for _, e := range r.Elems {
			if e.Type == '*' {
				out = append(out, e.Elems...)
			} else {
				out = append(out, e)
			}
		}
		return out
	}
	w, g := flat(want), flat(got)
	if want.Type != got.Type || len(w) != len(g) {
		return false
	}
	for i := range w {
		if i%2 == 0 {
			if !reflect.DeepEqual(w[i], g[i]) {
				return false
			}
			continue
		}
		a, errA := strconv.ParseFloat(string(w[i].Str), 64)
		b, errB := strconv.ParseFloat(string(g[i].Str), 64)
		if errA != nil || errB != nil || math.Abs(a-b) > 4*math.Abs(math.Nextafter(a, math.Inf(1))-a) {
			return false
		}
	}
	return true
}

// geoWords are the arguments TestGeoHostileArgumentsMatchRedisServer
// draws from: option words in and out of place, boundary numbers, units,
// keys of other types, members that exist and do not.
var geoWords = []string{
	"nan", "inf", "-inf", "+inf", "1e309", "1e-320", "0", "-0", "-1", "1", "15", "37", "200", "0x10", "",
	"9223372036854775807", "9223372036854775808", "-9223372036854775808", "180", "-180.0000001",
	"85.05112878", "85.05112879", "-85.05112878", "COUNT", "count", "ANY", "ASC", "DESC", "WITHDIST",
	"WITHHASH", "WITHCOORD", "STORE", "STOREDIST", "FROMMEMBER", "FROMLONLAT", "BYRADIUS", "BYBOX", "m",
	"km", "FT", "mi", "parsec", "NX", "XX", "CH", "GT", "g", "str", "nokey", "dst", "Palermo", "Catania", "x",
}

// TestGeoHostileArgumentsMatchRedisServer sends random argument lists,
// mostly malformed, to every GEO command on redis-server 7.0 and the
// engine: the same error (or result) for each, and no internal error.
func TestGeoHostileArgumentsMatchRedisServer(t *testing.T) {
	rs := redistest.Start(t, redistest.Options{Flavor: "redis"})
	es := startServer(t)
	real := [2]*rawConn{dial(t, rs.Addr()), dial(t, rs.Addr())}
	eng := [2]*rawConn{dial(t, es.Addr().String()), dial(t, es.Addr().String())}
	real[1].do(t, "HELLO", "3")
	eng[1].do(t, "HELLO", "3")
	setup := [][]string{
		{"GEOADD", "g", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania", "0", "0", "x"},
		{"SET", "str", "v"},
	}
	for _, cmd := range setup {
		real[0].do(t, cmd...)
		eng[0].do(t, cmd...)
	}
	names := []string{"GEOADD", "GEODIST", "GEOHASH", "GEOPOS", "GEORADIUS", "GEORADIUS_RO", "GEORADIUSBYMEMBER",
		"GEORADIUSBYMEMBER_RO", "GEOSEARCH", "GEOSEARCHSTORE"}
	r := rand.New(rand.NewPCG(7, 11))
	failures := 0
	for i := 0; i < 4000 && failures < 10; i++ {
		cmd := []string{names[r.IntN(len(names))]}
		// the fixed arguments are mostly right, so the options get parsed
		switch cmd[0] {
		case "GEORADIUS", "GEORADIUS_RO":
			cmd = append(cmd, "g", "15", "37", "200", "km")
		case "GEORADIUSBYMEMBER", "GEORADIUSBYMEMBER_RO":
			cmd = append(cmd, "g", "Palermo", "200", "km")
		case "GEOSEARCH":
			cmd = append(cmd, "g")
		case "GEOSEARCHSTORE":
			cmd = append(cmd, "dst", "g")
		}
		if len(cmd) > 1 && r.IntN(3) == 0 {
			cmd[1+r.IntN(len(cmd)-1)] = geoWords[r.IntN(len(geoWords))] // spoil a fixed argument
		}
		for n := r.IntN(9); n > 0; n-- {
			cmd = append(cmd, geoWords[r.IntN(len(geoWords))])
		}
		p := r.IntN(2)
		want, got := real[p].do(t, cmd...), eng[p].do(t, cmd...)
		if got.Type == '-' && strings.Contains(string(got.Str), "internal error") || !reflect.DeepEqual(want, got) {
			failures++
			t.Errorf("RESP%d %q:\n%s", p+2, cmd, replyDiff(want, got))
		}
	}
}
