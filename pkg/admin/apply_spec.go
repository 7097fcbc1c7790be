package admin

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/gocluster/gocluster/pkg/conn"
	"gopkg.in/yaml.v3"
)

// ClusterSpec is what `gocluster apply` makes a cluster match. The YAML
// form (apply -f) uses the yaml names; the flags set the same fields.
type ClusterSpec struct {
	// Nodes are every node the cluster should have, host:port.
	Nodes []string `yaml:"nodes" json:"nodes"`
	// Replicas per master.
	Replicas int `yaml:"replicas" json:"replicas"`
	// Masters is how many masters serve slots; 0 means as many as the
	// nodes allow (nodes / (replicas + 1)), as create decides.
	Masters int `yaml:"masters,omitempty" json:"masters,omitempty"`
	// Weights of masters for the slot balance (host:port -> weight);
	// masters not listed weigh 1.
	Weights map[string]float64 `yaml:"weights,omitempty" json:"weights,omitempty"`
	// NodeTimeout is cluster-node-timeout in milliseconds; 0 leaves it.
	NodeTimeout int64 `yaml:"cluster-node-timeout,omitempty" json:"cluster_node_timeout,omitempty"`
}

// yamlLine finds yaml.v3's "line N:" in its errors.
var yamlLine = regexp.MustCompile(`line (\d+): `)

// ParseClusterSpec reads a YAML spec strictly: an unknown field, a value
// of the wrong type or a second document is an error naming the field and
// the line. The spec is validated too.
func ParseClusterSpec(data []byte) (*ClusterSpec, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var s ClusterSpec
	if err := dec.Decode(&s); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("spec: the file is empty (want nodes:, replicas: ...)")
		}
		return nil, fmt.Errorf("spec: %s", yamlMessage(err))
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("spec: more than one YAML document: give one cluster per file")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// yamlMessage words yaml.v3's errors as "line N: field x is not a spec
// field" and the like.
func yamlMessage(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err.Error()
	}
	var out []string
	for _, e := range te.Errors {
		e = strings.Replace(e, "not found in type admin.ClusterSpec", "is not a spec field (want nodes, replicas, masters, weights, cluster-node-timeout)", 1)
		e = strings.Replace(e, "into []string", "into a list of host:port", 1)
		out = append(out, yamlLine.ReplaceAllString(e, "line $1: "))
	}
	return strings.Join(out, "; ")
}

// Validate checks the spec before any node is touched: addresses, a node
// listed twice, replicas that cannot fit, fewer than three masters,
// weights of nodes that are not in the spec.
func (s *ClusterSpec) Validate() error {
	if len(s.Nodes) == 0 {
		return errors.New("spec: nodes is empty: list every node of the cluster, host:port")
	}
	if s.Replicas < 0 {
		return fmt.Errorf("spec: replicas is %d: want 0 or more", s.Replicas)
	}
	seen := map[string]int{}
	for i, a := range s.Nodes {
		norm, err := conn.NormalizeAddr(a)
		if err != nil {
			return fmt.Errorf("spec: nodes[%d]: %w", i, err)
		}
		if j, dup := seen[norm]; dup {
			return fmt.Errorf("spec: node %s is listed twice (nodes[%d] and nodes[%d])", norm, j, i)
		}
		seen[norm] = i
		s.Nodes[i] = norm
	}
	if s.Masters < 0 {
		return fmt.Errorf("spec: masters is %d: want 3 or more, or leave it out", s.Masters)
	}
	masters := s.MasterCount()
	if masters < MinMasters {
		return fmt.Errorf("spec: %d node(s) with %d replica(s) per master make %d master(s); Redis Cluster needs at least %d", len(s.Nodes), s.Replicas, masters, MinMasters)
	}
	if need := masters * (s.Replicas + 1); need > len(s.Nodes) {
		return fmt.Errorf("spec: %d masters with %d replica(s) each need %d nodes, the spec lists %d", masters, s.Replicas, need, len(s.Nodes))
	}
	weights := map[string]float64{}
	for addr, w := range s.Weights {
		norm, err := conn.NormalizeAddr(addr)
		if err != nil {
			return fmt.Errorf("spec: weights: %w", err)
		}
		if _, ok := seen[norm]; !ok {
			return fmt.Errorf("spec: weights: %s is not one of the spec's nodes", addr)
		}
		if w < 0 {
			return fmt.Errorf("spec: weights: %s has weight %g: want 0 or more", addr, w)
		}
		weights[norm] = w
	}
	if len(weights) > 0 {
		s.Weights = weights
	}
	if s.NodeTimeout < 0 {
		return fmt.Errorf("spec: cluster-node-timeout is %d: want milliseconds > 0", s.NodeTimeout)
	}
	return nil
}

// MasterCount is how many masters the spec wants.
func (s *ClusterSpec) MasterCount() int {
	if s.Masters > 0 {
		return s.Masters
	}
	return len(s.Nodes) / (s.Replicas + 1)
}

// inSpec tells whether addr (normalized) is one of the spec's nodes.
func (s *ClusterSpec) inSpec(addr string) bool {
	for _, a := range s.Nodes {
		if a == addr {
			return true
		}
	}
	return false
}
