// Package conn is the one way gocluster talks to nodes: connection options
// (auth, ACL user, TLS, timeouts) built once, a client per node address, and
// errors that say which node failed and why.
package conn

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Addr is a node address as users and CLUSTER NODES write it.
type Addr struct {
	Host    string
	Port    int
	BusPort int // 0 when not given
}

// String is host:port, with brackets for IPv6.
func (a Addr) String() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// ParseAddr accepts "host:port", "[::1]:port" and "host:port@cport".
func ParseAddr(s string) (Addr, error) {
	var a Addr
	hostport, bus, hasBus := strings.Cut(s, "@")
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		return a, fmt.Errorf("invalid address %q: want host:port", s)
	}
	if host == "" {
		return a, fmt.Errorf("invalid address %q: missing host", s)
	}
	port, err := parsePort(portStr)
	if err != nil {
		return a, fmt.Errorf("invalid address %q: %v", s, err)
	}
	a.Host, a.Port = host, port
	if hasBus {
		if a.BusPort, err = parsePort(bus); err != nil {
			return a, fmt.Errorf("invalid address %q: bus %v", s, err)
		}
	}
	return a, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("port %q out of range 1-65535", s)
	}
	return p, nil
}

// NormalizeAddr parses s and returns its canonical host:port form.
func NormalizeAddr(s string) (string, error) {
	a, err := ParseAddr(s)
	if err != nil {
		return "", err
	}
	return a.String(), nil
}
