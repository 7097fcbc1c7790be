package cluster

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/gocluster/gocluster/pkg/engine/resp"
)

// slotStatsCommand is Valkey 8's CLUSTER SLOT-STATS, with the one statistic
// Valkey reports by default (key-count): SLOTSRANGE start end lists the
// slots of my shard in that range by slot number; ORDERBY key-count
// [LIMIT n] [ASC|DESC] lists them by key count (DESC by default, ties by
// slot). Each entry is [slot, {key-count: n}], a map in RESP3. Replies and
// error texts are Valkey 8.0's.
func (c *Cluster) slotStatsCommand(w *resp.Writer, args [][]byte) {
	owned := c.shardSlots()
	switch {
	case strings.EqualFold(string(args[1]), "slotsrange") && len(args) == 4:
		start, ok1 := parseSlotStatsSlot(args[2])
		end, ok2 := parseSlotStatsSlot(args[3])
		if !ok1 || !ok2 {
			w.WriteError("ERR Invalid or out of range slot")
			return
		}
		if start > end {
			w.WriteError("ERR Start slot number " + itoa(start) + " is greater than end slot number " + itoa(end))
			return
		}
		var list []int
		for _, s := range owned {
			if s >= start && s <= end {
				list = append(list, s)
			}
		}
		c.writeSlotStats(w, list, nil)
	case strings.EqualFold(string(args[1]), "orderby") && len(args) >= 3:
		if !strings.EqualFold(string(args[2]), "key-count") {
			w.WriteError("ERR Unrecognized sort metric for ORDERBY.")
			return
		}
		limit, desc := NumSlots, true
		seenLimit, seenOrder := false, false
		for i := 3; i < len(args); i++ {
			opt := strings.ToLower(string(args[i]))
			switch {
			case opt == "limit" && i+1 < len(args):
				if seenLimit {
					w.WriteError("ERR Multiple filters of the same type are disallowed.")
					return
				}
				n, err := strconv.ParseInt(string(args[i+1]), 10, 64)
				if err != nil || n < 1 || n > NumSlots {
					w.WriteError("ERR Limit has to lie in between 1 and 16384 (maximum number of slots).")
					return
				}
				limit, seenLimit = int(n), true
				i++
			case opt == "asc" || opt == "desc":
				if seenOrder {
					w.WriteError("ERR Multiple filters of the same type are disallowed.")
					return
				}
				desc, seenOrder = opt == "desc", true
			default:
				w.WriteError("ERR syntax error")
				return
			}
		}
		counts := make(map[int]int, len(owned))
		for _, s := range owned {
			counts[s] = c.ks.CountKeysInSlot(s)
		}
		slices.SortStableFunc(owned, func(a, b int) int {
			if d := cmp.Compare(counts[a], counts[b]); d != 0 {
				if desc {
					return -d
				}
				return d
			}
			return cmp.Compare(a, b)
		})
		c.writeSlotStats(w, owned[:min(limit, len(owned))], counts)
	default:
		unknownSyntax(w, args[0])
	}
}

// shardSlots lists, in order, the slots served by my shard: mine as a
// master, my master's as a replica.
func (c *Cluster) shardSlots() []int {
	c.mu.Lock()
	defer c.unlock()
	owner := c.myself
	if owner.master != nil {
		owner = owner.master
	}
	var out []int
	for s := range NumSlots {
		if c.slots[s] == owner {
			out = append(out, s)
		}
	}
	return out
}

func parseSlotStatsSlot(b []byte) (int, bool) {
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 || n >= NumSlots {
		return 0, false
	}
	return int(n), true
}

// writeSlotStats answers the listed slots; counts holds the key counts
// already read (nil: read them now).
func (c *Cluster) writeSlotStats(w *resp.Writer, list []int, counts map[int]int) {
	w.WriteArrayLen(len(list))
	for _, s := range list {
		n, ok := counts[s]
		if !ok {
			n = c.ks.CountKeysInSlot(s)
		}
		w.WriteArrayLen(2)
		w.WriteInt(int64(s))
		w.WriteMapLen(1)
		w.WriteBulkString("key-count")
		w.WriteInt(int64(n))
	}
}
