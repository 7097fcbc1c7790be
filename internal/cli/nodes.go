package cli

import (
	"fmt"
	"strings"

	"github.com/gocluster/gocluster/pkg/admin"
	"github.com/gocluster/gocluster/pkg/topology"
)

// nodeJSON is the stable JSON form of a node.
type nodeJSON struct {
	ID        string         `json:"id"`
	Addr      string         `json:"addr"`
	Role      string         `json:"role"`
	MasterID  string         `json:"master_id,omitempty"`
	Flags     []string       `json:"flags"`
	Slots     []string       `json:"slots"`
	SlotCount int            `json:"slot_count"`
	Migrating map[int]string `json:"migrating,omitempty"`
	Importing map[int]string `json:"importing,omitempty"`
	Replicas  int            `json:"replicas"`
	Keys      *int64         `json:"keys,omitempty"`
}

func nodesJSON(c *topology.Cluster, info *admin.InfoResult) []nodeJSON {
	keys := map[string]int64{}
	if info != nil {
		for _, m := range info.Masters {
			keys[m.ID] = m.Keys
		}
	}
	out := make([]nodeJSON, 0, len(c.Nodes))
	for _, n := range c.Nodes {
		j := nodeJSON{ID: n.ID, Addr: n.Addr(), Role: "master", MasterID: n.MasterID,
			Flags: n.Flags, Slots: []string{}, SlotCount: n.Slots.Len(),
			Migrating: n.Migrating, Importing: n.Importing}
		if n.IsReplica() {
			j.Role = "replica"
		} else {
			j.Replicas = len(c.ReplicasOf(n.ID))
		}
		for _, r := range n.Slots.Ranges() {
			j.Slots = append(j.Slots, r.String())
		}
		if k, ok := keys[n.ID]; ok {
			j.Keys = &k
		}
		out = append(out, j)
	}
	return out
}

// printNodes lists nodes the way redis-cli does in check and create:
//
//	M: 0123... 127.0.0.1:7000
//	   slots:[0-5460] (5461 slots) master
//	   1 additional replica(s)
func printNodes(p *printer, c *topology.Cluster) {
	for _, n := range c.Nodes {
		role := "M"
		if n.IsReplica() {
			role = "S"
		}
		p.Plain("%s: %s %s", role, n.ID, n.Addr())
		p.Plain("   slots:%s (%d slots) %s", slotsBrackets(n), n.Slots.Len(), n.FlagString())
		if n.IsReplica() {
			p.Plain("   replicates %s", n.MasterID)
		} else if r := len(c.ReplicasOf(n.ID)); r > 0 {
			p.Plain("   %d additional replica(s)", r)
		}
	}
}

// slotsBrackets formats slots as redis-cli: "[0-5460],[5462]".
func slotsBrackets(n *topology.Node) string {
	rs := n.Slots.Ranges()
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = "[" + r.String() + "]"
	}
	return strings.Join(parts, ",")
}

// printInfo prints redis-cli's per-master summary and totals.
func printInfo(p *printer, info *admin.InfoResult) {
	for _, m := range info.Masters {
		p.Plain("%s (%s...) -> %d keys | %d slots | %d slaves.", m.Addr, shortID(m.ID), m.Keys, m.Slots, m.Replicas)
	}
	p.OK("[OK] %d keys in %d masters.", info.Keys, len(info.Masters))
	p.Plain("%s keys per slot on average.", fmt.Sprintf("%.2f", info.KeysPerSlot()))
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
