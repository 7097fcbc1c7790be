// Package topology is gocluster's model of a Redis Cluster: nodes parsed
// from CLUSTER NODES, the whole cluster loaded from one seed with each
// node's own view, and the pure consistency and coverage checks.
package topology

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/gocluster/gocluster/pkg/slots"
)

// Node is one line of CLUSTER NODES.
type Node struct {
	ID          string
	Host        string // announced IP (may be empty for noaddr)
	Port        int
	BusPort     int
	Hostname    string // announced hostname, Redis 7+
	Flags       []string
	MasterID    string // "" for masters
	PingSent    int64
	PongRecv    int64
	ConfigEpoch uint64
	Connected   bool
	Slots       *slots.Set
	Migrating   map[int]string // slot -> target node ID
	Importing   map[int]string // slot -> source node ID
}

// Addr is host:port as clients dial it.
func (n *Node) Addr() string { return net.JoinHostPort(n.Host, strconv.Itoa(n.Port)) }

// HasFlag reports whether the node carries flag f.
func (n *Node) HasFlag(f string) bool { return slices.Contains(n.Flags, f) }

// IsMaster reports a master (not a replica).
func (n *Node) IsMaster() bool { return n.HasFlag("master") }

// IsReplica reports a replica ("slave" in CLUSTER NODES).
func (n *Node) IsReplica() bool { return n.HasFlag("slave") }

// Myself reports the line describing the node that answered.
func (n *Node) Myself() bool { return n.HasFlag("myself") }

// Failing reports a node flagged fail or fail? (PFAIL).
func (n *Node) Failing() bool { return n.HasFlag("fail") || n.HasFlag("fail?") }

// ShortID is the first 8 characters of the ID, as redis-cli prints it.
func (n *Node) ShortID() string {
	if len(n.ID) > 8 {
		return n.ID[:8]
	}
	return n.ID
}

// FlagString is the flags without "myself", comma separated.
func (n *Node) FlagString() string {
	var fs []string
	for _, f := range n.Flags {
		if f != "myself" {
			fs = append(fs, f)
		}
	}
	return strings.Join(fs, ",")
}

// ParseNodes parses a CLUSTER NODES reply.
func ParseNodes(text string) ([]*Node, error) {
	var out []*Node
	seen := map[string]*Node{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		n, err := ParseNodeLine(line)
		if err != nil {
			return nil, fmt.Errorf("CLUSTER NODES line %d: %w", i+1, err)
		}
		if prev := seen[n.ID]; prev != nil {
			return nil, fmt.Errorf("CLUSTER NODES line %d: node ID %s listed twice (%s and %s)", i+1, n.ID, prev.Addr(), n.Addr())
		}
		seen[n.ID] = n
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("empty CLUSTER NODES reply")
	}
	return out, nil
}

// ParseNodeLine parses one CLUSTER NODES line.
func ParseNodeLine(line string) (*Node, error) {
	f := strings.Fields(line)
	if len(f) < 8 {
		return nil, fmt.Errorf("want at least 8 fields, got %d in %q", len(f), line)
	}
	n := &Node{ID: f[0], Slots: &slots.Set{}}
	if err := n.parseAddr(f[1]); err != nil {
		return nil, err
	}
	if !validID(n.ID) {
		return nil, fmt.Errorf("bad node ID %q for %s: want 40 characters", n.ID, f[1])
	}
	n.Flags = strings.Split(f[2], ",")
	if f[3] != "-" {
		n.MasterID = f[3]
	}
	var err error
	if n.PingSent, err = strconv.ParseInt(f[4], 10, 64); err != nil {
		return nil, fmt.Errorf("bad ping-sent %q", f[4])
	}
	if n.PongRecv, err = strconv.ParseInt(f[5], 10, 64); err != nil {
		return nil, fmt.Errorf("bad pong-recv %q", f[5])
	}
	if n.ConfigEpoch, err = strconv.ParseUint(f[6], 10, 64); err != nil {
		return nil, fmt.Errorf("bad config-epoch %q", f[6])
	}
	switch f[7] {
	case "connected":
		n.Connected = true
	case "disconnected":
	default:
		return nil, fmt.Errorf("bad link-state %q", f[7])
	}
	for _, s := range f[8:] {
		if err := n.parseSlot(s); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// validID reports a plausible node ID: Redis and Valkey make them 40
// characters long, so anything else is a truncated or garbled reply.
func validID(id string) bool { return len(id) == 40 }

// parseAddr reads "ip:port@cport[,hostname[,aux=val...]]"; IPv6 addresses
// come without brackets, so the port follows the last colon.
func (n *Node) parseAddr(s string) error {
	parts := strings.Split(s, ",")
	if len(parts) > 1 {
		n.Hostname = parts[1]
	}
	hostport, bus, _ := strings.Cut(parts[0], "@")
	i := strings.LastIndexByte(hostport, ':')
	if i < 0 {
		return fmt.Errorf("bad address %q", s)
	}
	n.Host = strings.Trim(hostport[:i], "[]")
	var err error
	if n.Port, err = strconv.Atoi(hostport[i+1:]); err != nil {
		return fmt.Errorf("bad port in address %q", s)
	}
	if bus != "" {
		if n.BusPort, err = strconv.Atoi(bus); err != nil {
			return fmt.Errorf("bad bus port in address %q", s)
		}
	}
	return nil
}

func (n *Node) parseSlot(s string) error {
	if strings.HasPrefix(s, "[") {
		body := strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		if a, id, ok := strings.Cut(body, "->-"); ok {
			slot, err := slots.ParseSlot(a)
			if err != nil {
				return err
			}
			if n.Migrating == nil {
				n.Migrating = map[int]string{}
			}
			n.Migrating[slot] = id
			return nil
		}
		if a, id, ok := strings.Cut(body, "-<-"); ok {
			slot, err := slots.ParseSlot(a)
			if err != nil {
				return err
			}
			if n.Importing == nil {
				n.Importing = map[int]string{}
			}
			n.Importing[slot] = id
			return nil
		}
		return fmt.Errorf("bad open-slot entry %q", s)
	}
	r, err := slots.ParseRange(s)
	if err != nil {
		return err
	}
	n.Slots.AddRange(r)
	return nil
}

// ConfigSignature summarises the slot assignment a view holds, like
// redis-cli's: "id:ranges|id:ranges" sorted, nodes without slots left out.
// Two nodes agree about the configuration when their signatures are equal.
func ConfigSignature(view []*Node) string {
	var parts []string
	for _, n := range view {
		if n.Slots.Len() == 0 {
			continue
		}
		rs := n.Slots.Ranges()
		strs := make([]string, len(rs))
		for i, r := range rs {
			strs[i] = r.String()
		}
		slices.Sort(strs)
		parts = append(parts, n.ID+":"+strings.Join(strs, ","))
	}
	slices.Sort(parts)
	return strings.Join(parts, "|")
}
