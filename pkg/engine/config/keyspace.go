package config

import (
	"fmt"
	"strings"
)

// Keyspace notification classes (notify-keyspace-events), as Redis
// numbers them.
const (
	NotifyKeyspace = 1 << iota // K: __keyspace@<db>__:<key> channels
	NotifyKeyevent             // E: __keyevent@<db>__:<event> channels
	NotifyGeneric              // g
	NotifyString               // $
	NotifyList                 // l
	NotifySet                  // s
	NotifyHash                 // h
	NotifyZSet                 // z
	NotifyExpired              // x
	NotifyEvicted              // e
	NotifyStream               // t
	NotifyKeyMiss              // m (not part of A)
	NotifyModule               // d
	NotifyNew                  // n (not part of A)

	NotifyAll = NotifyGeneric | NotifyString | NotifyList | NotifySet | NotifyHash | NotifyZSet |
		NotifyExpired | NotifyEvicted | NotifyStream | NotifyModule
)

// KeyspaceEvents parses notify-keyspace-events flags.
func KeyspaceEvents(s string) (int, error) {
	flags := 0
	for _, ch := range s {
		switch ch {
		case 'A':
			flags |= NotifyAll
		case 'g':
			flags |= NotifyGeneric
		case '$':
			flags |= NotifyString
		case 'l':
			flags |= NotifyList
		case 's':
			flags |= NotifySet
		case 'h':
			flags |= NotifyHash
		case 'z':
			flags |= NotifyZSet
		case 'x':
			flags |= NotifyExpired
		case 'e':
			flags |= NotifyEvicted
		case 'K':
			flags |= NotifyKeyspace
		case 'E':
			flags |= NotifyKeyevent
		case 't':
			flags |= NotifyStream
		case 'm':
			flags |= NotifyKeyMiss
		case 'd':
			flags |= NotifyModule
		case 'n':
			flags |= NotifyNew
		default:
			return 0, fmt.Errorf("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
		}
	}
	return flags, nil
}

// keyspaceEventsString renders flags the way CONFIG GET shows them: A
// for all classes, or each class, then K, E and m. Like Redis, it shows n
// only without A; lossless keeps it anyway.
func keyspaceEventsString(flags int, lossless bool) string {
	var b strings.Builder
	if flags&NotifyAll == NotifyAll {
		b.WriteByte('A')
		if lossless && flags&NotifyNew != 0 {
			b.WriteByte('n')
		}
	} else {
		for _, f := range []struct {
			bit int
			ch  byte
		}{{NotifyGeneric, 'g'}, {NotifyString, '$'}, {NotifyList, 'l'}, {NotifySet, 's'}, {NotifyHash, 'h'},
			{NotifyZSet, 'z'}, {NotifyExpired, 'x'}, {NotifyEvicted, 'e'}, {NotifyStream, 't'}, {NotifyModule, 'd'},
			{NotifyNew, 'n'}} {
			if flags&f.bit != 0 {
				b.WriteByte(f.ch)
			}
		}
	}
	for _, f := range []struct {
		bit int
		ch  byte
	}{{NotifyKeyspace, 'K'}, {NotifyKeyevent, 'E'}, {NotifyKeyMiss, 'm'}} {
		if flags&f.bit != 0 {
			b.WriteByte(f.ch)
		}
	}
	return b.String()
}

// canonicalKeyspaceEvents validates notify-keyspace-events and returns
// the form kept: every flag it sets, in CONFIG GET's order.
func canonicalKeyspaceEvents(v string) (string, error) {
	flags, err := KeyspaceEvents(v)
	if err != nil {
		return "", err
	}
	return keyspaceEventsString(flags, true), nil
}

// displayKeyspaceEvents is CONFIG GET's rendering of the kept form.
func displayKeyspaceEvents(v string) string {
	flags, _ := KeyspaceEvents(v)
	return keyspaceEventsString(flags, false)
}
