package conn

import (
	"net"
	"slices"
	"strconv"
	"strings"
)

// InfoFields parses an INFO reply's name:value lines.
func InfoFields(info string) map[string]string {
	out := map[string]string{}
	for line := range strings.SplitSeq(info, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
}

// ReplicaLink is one connected replica as its master's INFO replication
// lists it ("slave0:ip=10.0.0.5,port=6380,state=online,offset=14,lag=0").
type ReplicaLink struct {
	Addr  string
	State string
	// Offset is the replication offset the replica last acknowledged.
	Offset int64
}

// ConnectedReplicas returns the replicas INFO replication fields list,
// ordered by address.
func ConnectedReplicas(fields map[string]string) []ReplicaLink {
	var out []ReplicaLink
	for k, v := range fields {
		n, ok := strings.CutPrefix(k, "slave")
		if _, err := strconv.Atoi(n); !ok || err != nil {
			continue // slave_repl_offset and the like
		}
		var ip, port string
		var link ReplicaLink
		for part := range strings.SplitSeq(v, ",") {
			name, value, _ := strings.Cut(part, "=")
			switch name {
			case "ip":
				ip = value
			case "port":
				port = value
			case "state":
				link.State = value
			case "offset":
				link.Offset, _ = strconv.ParseInt(value, 10, 64)
			}
		}
		if ip != "" && port != "" {
			link.Addr = net.JoinHostPort(ip, port)
			out = append(out, link)
		}
	}
	slices.SortFunc(out, func(a, b ReplicaLink) int { return strings.Compare(a.Addr, b.Addr) })
	return out
}
