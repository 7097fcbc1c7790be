package admin

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
)

// ConvergeOptions say what "converged" means and how long to wait.
type ConvergeOptions struct {
	Timeout  time.Duration // default 60s
	Interval time.Duration // longest pause between polls, default 50ms
	// SameSlots also requires every node to hold the same slot map; when
	// that map covers every slot, each node must also report
	// cluster_state:ok, so that clients can use the cluster at once.
	SameSlots bool
	// SameReplicas also requires every node to agree on who replicates whom.
	SameReplicas bool
	// SameEpochs also requires every node to see the same config epoch for
	// every node: a migration's epoch bump reaches some nodes by gossip only.
	SameEpochs bool
	// Absent lists node IDs that must have disappeared from every view.
	Absent []string
	// NoHandshake also waits until no view lists any node in handshake,
	// including short-lived ones that extra MEETs leave behind.
	NoHandshake bool
	// SkipStateOK leaves out the cluster_state:ok wait of SameSlots: Redis
	// holds a master that just got its first slots in state fail for
	// min(cluster-node-timeout, 5 s), whatever the tool does.
	SkipStateOK bool
}

// downGrace is how long WaitConverged lets a node refuse connections
// before it gives up on it (a restarting node listens again well before).
var downGrace = 5 * time.Second

// WaitConverged polls CLUSTER NODES on every address until each node knows
// all the others (no handshake, no fail flags) and, as asked, agrees on the
// slot map and replicas. It returns a clear error naming what still differs
// when the timeout passes. Polls start 2 ms apart and back off to
// Interval: gossip usually settles within a few milliseconds of a change.
func WaitConverged(ctx context.Context, pool *conn.Pool, addrs []string, o ConvergeOptions) error {
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
	if o.Interval <= 0 {
		o.Interval = 50 * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	var last string
	var refusedSince time.Time
	pause := min(2*time.Millisecond, o.Interval)
	for {
		views, err := fetchViews(ctx, pool, addrs)
		// A node that keeps refusing connections is down, not slow to
		// agree: say so instead of polling it until the timeout.
		switch {
		case !errors.Is(err, syscall.ECONNREFUSED):
			refusedSince = time.Time{}
		case refusedSince.IsZero():
			refusedSince = time.Now()
		case time.Since(refusedSince) >= downGrace:
			return fmt.Errorf("%w, for %s now: is it down? (the nodes cannot converge without it)", err, downGrace)
		}
		if err == nil {
			if last = divergence(addrs, views, o); last == "" && o.SameSlots && !o.SkipStateOK && len(views) > 0 && coversAll(views[0]) {
				last, err = stateNotOK(ctx, pool, addrs)
			}
			if err == nil && last == "" {
				return nil
			}
		}
		if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("nodes did not converge within %s: %s", o.Timeout, last)
			}
			return ctx.Err()
		case <-time.After(pause):
		}
		pause = min(2*pause, o.Interval)
	}
}

func fetchViews(ctx context.Context, pool *conn.Pool, addrs []string) ([][]*topology.Node, error) {
	views := make([][]*topology.Node, len(addrs))
	errs := make([]error, len(addrs))
	var wg sync.WaitGroup
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			views[i], errs[i] = topology.FetchNodes(ctx, pool, a)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return views, nil
}

// divergence explains the first way the views differ, or "" when converged.
func divergence(addrs []string, views [][]*topology.Node, o ConvergeOptions) string {
	ids := make([]string, len(views))
	for i, v := range views {
		for _, n := range v {
			if n.Myself() {
				ids[i] = n.ID
			}
		}
	}
	var firstSig, firstReplicas, firstEpochs string
	for i, v := range views {
		known := map[string]*topology.Node{}
		for _, n := range v {
			known[n.ID] = n
		}
		for j, id := range ids {
			n := known[id]
			switch {
			case n == nil:
				return fmt.Sprintf("%s does not know %s yet", addrs[i], addrs[j])
			case n.HasFlag("handshake") || n.HasFlag("noaddr"):
				return fmt.Sprintf("%s is still in handshake with %s", addrs[i], addrs[j])
			case n.Failing():
				return fmt.Sprintf("%s flags %s as failing", addrs[i], addrs[j])
			}
		}
		if o.NoHandshake {
			for _, n := range v {
				if n.HasFlag("handshake") {
					return fmt.Sprintf("%s is still in handshake with %s", addrs[i], n.Addr())
				}
			}
		}
		for _, gone := range o.Absent {
			if known[gone] != nil {
				return fmt.Sprintf("%s still knows node %s", addrs[i], gone)
			}
		}
		if o.SameSlots {
			sig := topology.ConfigSignature(v)
			if i == 0 {
				firstSig = sig
			} else if sig != firstSig {
				return fmt.Sprintf("%s and %s disagree about slots (%s)", addrs[0], addrs[i], firstSlotDifference(addrs[0], views[0], addrs[i], v))
			}
		}
		if o.SameReplicas {
			rs := replicaSignature(v)
			if i == 0 {
				firstReplicas = rs
			} else if rs != firstReplicas {
				return fmt.Sprintf("%s and %s disagree about replicas", addrs[0], addrs[i])
			}
		}
		if o.SameEpochs {
			es := epochSignature(v)
			if i == 0 {
				firstEpochs = es
			} else if es != firstEpochs {
				return fmt.Sprintf("%s and %s disagree about config epochs", addrs[0], addrs[i])
			}
		}
	}
	return ""
}

// firstSlotDifference names the first slot two views give to different
// owners, so that a cluster that never converges says where to look.
func firstSlotDifference(addrA string, a []*topology.Node, addrB string, b []*topology.Node) string {
	ownerA, ownerB := slotOwners(a), slotOwners(b)
	for sl := range slots.Count {
		if ownerA[sl] == nil && ownerB[sl] == nil || ownerA[sl] != nil && ownerB[sl] != nil && ownerA[sl].ID == ownerB[sl].ID {
			continue
		}
		return fmt.Sprintf("slot %d: %s says %s, %s says %s", sl, addrA, describeOwner(ownerA[sl]), addrB, describeOwner(ownerB[sl]))
	}
	return "same owners"
}

func slotOwners(view []*topology.Node) *[slots.Count]*topology.Node {
	var out [slots.Count]*topology.Node
	for _, n := range view {
		for _, sl := range n.Slots.Slots() {
			out[sl] = n
		}
	}
	return &out
}

func describeOwner(n *topology.Node) string {
	if n == nil {
		return "nobody"
	}
	return fmt.Sprintf("%s (%.8s, config epoch %d)", n.Addr(), n.ID, n.ConfigEpoch)
}

// epochSignature lists every node's config epoch as one view shows it.
func epochSignature(view []*topology.Node) string {
	parts := make([]string, len(view))
	for i, n := range view {
		parts[i] = fmt.Sprintf("%s:%d", n.ID, n.ConfigEpoch)
	}
	slices.Sort(parts)
	return strings.Join(parts, "|")
}

func coversAll(view []*topology.Node) bool {
	n := 0
	for _, v := range view {
		n += v.Slots.Len()
	}
	return n == slots.Count
}

// stateNotOK names the first node whose CLUSTER INFO is not cluster_state:ok.
// A master reports fail for a short while after it joins (Redis holds it
// back so a restarted master does not accept writes too early).
func stateNotOK(ctx context.Context, pool *conn.Pool, addrs []string) (string, error) {
	for _, a := range addrs {
		info, err := pool.Get(a).ClusterInfo(ctx).Result()
		if err != nil {
			return "", conn.NodeError(a, "CLUSTER INFO", err)
		}
		if !strings.Contains(info, "cluster_state:ok") {
			return a + " does not report cluster_state:ok yet", nil
		}
	}
	return "", nil
}

func replicaSignature(view []*topology.Node) string {
	var parts []string
	for _, n := range view {
		if n.IsReplica() {
			parts = append(parts, n.ID+">"+n.MasterID)
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}
