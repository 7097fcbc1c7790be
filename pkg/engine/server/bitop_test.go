package server

import (
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/gocluster/gocluster/internal/redistest"
)

// scriptLines splits a script into commands, one a line, arguments by spaces.
func scriptLines(s string) [][]string {
	var out [][]string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		out = append(out, strings.Fields(l))
	}
	return out
}

// TestBitOpAndBitPosMatchRedisServer: fixed edge cases (errors, missing and
// wrong-typed keys, NOT, empty results deleting the destination) then random
// strings through every operation and random BITPOS ranges in both units.
func TestBitOpAndBitPosMatchRedisServer(t *testing.T) {
	real := dial(t, redistest.Start(t, redistest.Options{}).Addr())
	eng := dial(t, startServer(t).Addr().String())
	compareArgs(t, real, eng, scriptLines(`
BITOP
BITOP AND d
BITOP NAND d a
BITOP NOT d a b
BITOP NOT d nope
EXISTS d
SET d x
BITOP AND d nope1 nope2
EXISTS d
LPUSH l a
BITOP OR d l
BITOP OR d nope l
SET a foobar
SET b abcdef
SET e ""
BITOP AND d a b
GET d
BITOP OR d a b e
GET d
BITOP XOR d a b nope
GET d
BITOP NOT d a
GET d
BITOP AND d a e
GET d
SET n 12345
BITOP NOT d n
GET d
BITPOS
BITPOS a
BITPOS a 2
BITPOS a x
BITPOS a -1
BITPOS nope 0
BITPOS nope 1
BITPOS nope 1 x y z w
BITPOS l 1
BITPOS a 1 x
BITPOS a 1 0 x
BITPOS a 1 0 1 bits
BITPOS a 1 0 1 BIT extra
BITPOS e 0
BITPOS e 1
BITPOS e 0 0 -1
SET ones `+"\xff\xff\xff"+`
BITPOS ones 0
BITPOS ones 0 0
BITPOS ones 0 0 -1
BITPOS ones 0 0 -1 bit
BITPOS ones 0 3 bit
BITPOS ones 1 2 1
BITPOS ones 1 -100 100
`))
	rng := rand.New(rand.NewSource(7))
	randomString := func() string {
		b := make([]byte, rng.Intn(40))
		for i := range b {
			switch rng.Intn(4) {
			case 0:
				b[i] = 0
			case 1:
				b[i] = 0xff
			default:
				b[i] = byte(rng.Intn(256))
			}
		}
		return string(b)
	}
	num := func(limit int) string { return strconv.Itoa(rng.Intn(2*limit+1) - limit) }
	var cmds [][]string
	for i := 0; i < 300; i++ {
		cmds = append(cmds, []string{"SET", "k1", randomString()}, []string{"SET", "k2", randomString()})
		op := []string{"AND", "OR", "XOR", "NOT"}[rng.Intn(4)]
		if op == "NOT" {
			cmds = append(cmds, []string{"BITOP", op, "dst", "k1"})
		} else {
			cmds = append(cmds, []string{"BITOP", op, "dst", "k1", "k2", "k1", "missing"})
		}
		cmds = append(cmds, []string{"GET", "dst"})
		bit := strconv.Itoa(rng.Intn(2))
		switch rng.Intn(4) {
		case 0:
			cmds = append(cmds, []string{"BITPOS", "k1", bit})
		case 1:
			cmds = append(cmds, []string{"BITPOS", "k1", bit, num(50)})
		case 2:
			cmds = append(cmds, []string{"BITPOS", "k1", bit, num(50), num(50)})
		default:
			cmds = append(cmds, []string{"BITPOS", "k1", bit, num(330), num(330), []string{"BIT", "byte"}[rng.Intn(2)]})
		}
	}
	compareArgs(t, real, eng, cmds)
}
