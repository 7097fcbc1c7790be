package server

import (
	"fmt"
	"net"
	"strconv"
	"sync"
	"time"
)

// FAILOVER [TO host port [FORCE]] [TIMEOUT ms] | FAILOVER ABORT: a
// standalone master hands its role to a replica without losing a write.
// It pauses writes, waits until a replica has acknowledged the whole
// stream, becomes that replica's replica, and sends it PSYNC ... FAILOVER,
// which makes the replica a master that continues the same history.

func init() {
	def("failover", -1, "admin noscript stale nolock", 0, 0, 0, cmdFailover)
}

const (
	failoverNone = iota
	failoverWaitForSync
	failoverInProgress
)

// failoverState is the master's side of a FAILOVER in progress.
type failoverState struct {
	mu     sync.Mutex
	state  int
	end    time.Time // zero: no TIMEOUT, wait until ABORT
	force  bool
	target string // host:port of the replica, "" until one is chosen
	runs   bool   // the watcher goroutine runs
}

func (f *failoverState) stateName() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch f.state {
	case failoverWaitForSync:
		return "waiting-for-sync"
	case failoverInProgress:
		return "failover-in-progress"
	}
	return "no-failover"
}

func (s *Server) failingOver() bool {
	s.failover.mu.Lock()
	defer s.failover.mu.Unlock()
	return s.failover.state != failoverNone
}

// psyncFailover says whether this node's next PSYNC must carry FAILOVER.
func (s *Server) psyncFailover() bool {
	s.failover.mu.Lock()
	defer s.failover.mu.Unlock()
	return s.failover.state == failoverInProgress
}

func cmdFailover(c *Client, args [][]byte) {
	s := c.srv
	if s.Cluster != nil {
		c.w.WriteError("ERR FAILOVER not allowed in cluster mode. Use CLUSTER FAILOVER command instead.")
		return
	}
	if len(args) == 2 && eq(args[1], "abort") {
		if !s.failingOver() {
			c.w.WriteError("ERR No failover in progress.")
			return
		}
		s.abortFailover("Failover manually aborted")
		c.w.WriteRaw(okReply)
		return
	}
	var timeout int64
	var force bool
	host, port := "", int64(0)
	for j := 1; j < len(args); j++ {
		switch {
		case eq(args[j], "timeout") && j+1 < len(args) && timeout == 0:
			v, ok := parseInt(args[j+1])
			if !ok {
				c.w.WriteError(errNotInt)
				return
			}
			if v <= 0 {
				c.w.WriteError("ERR FAILOVER timeout must be greater than 0")
				return
			}
			timeout = v
			j++
		case eq(args[j], "to") && j+2 < len(args) && host == "":
			v, ok := parseInt(args[j+2])
			if !ok {
				c.w.WriteError(errNotInt)
				return
			}
			host, port = string(args[j+1]), v
			j += 2
		case eq(args[j], "force") && !force:
			force = true
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	if s.failingOver() {
		c.w.WriteError("ERR FAILOVER already in progress.")
		return
	}
	if replica, _ := s.masterOf(); replica {
		c.w.WriteError("ERR FAILOVER is not valid when server is a replica.")
		return
	}
	s.DB.Mu.Lock()
	links := append([]*replicaLink(nil), s.replicas...)
	s.DB.Mu.Unlock()
	if len(links) == 0 {
		c.w.WriteError("ERR FAILOVER requires connected replicas.")
		return
	}
	if force && (timeout == 0 || host == "") {
		c.w.WriteError("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
		return
	}
	target := ""
	if host != "" {
		target = net.JoinHostPort(host, strconv.FormatInt(port, 10))
		l := findLink(links, target)
		if l == nil {
			c.w.WriteError("ERR FAILOVER target HOST and PORT is not a replica.")
			return
		}
		if !l.online.Load() {
			c.w.WriteError("ERR FAILOVER target replica is not online.")
			return
		}
		s.Logger.Printf("FAILOVER requested to %s.", target)
	} else {
		s.Logger.Printf("FAILOVER requested to any replica.")
	}
	f := &s.failover
	f.mu.Lock()
	f.state, f.force, f.target, f.end = failoverWaitForSync, force, target, time.Time{}
	if timeout > 0 {
		f.end = time.Now().Add(time.Duration(timeout) * time.Millisecond)
	}
	start := !f.runs
	f.runs = true
	f.mu.Unlock()
	s.pause.setFailover(true)
	s.syncExpiryPause()
	if start {
		s.wg.Add(1)
		go s.watchFailover()
	}
	c.w.WriteRaw(okReply)
}

func findLink(links []*replicaLink, addr string) *replicaLink {
	for _, l := range links {
		if l.addr == addr {
			return l
		}
	}
	return nil
}

// watchFailover waits, while writes are paused, for a replica to have
// acknowledged the whole stream, then starts the hand-over; it ends with
// the failover (done or aborted).
func (s *Server) watchFailover() {
	defer s.wg.Done()
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
		}
		if !s.stepFailover() {
			return
		}
	}
}

// stepFailover is one check of a waiting failover; false once nothing is
// left to wait for.
func (s *Server) stepFailover() bool {
	f := &s.failover
	f.mu.Lock()
	if f.state != failoverWaitForSync {
		f.runs = false
		f.mu.Unlock()
		return false
	}
	if !f.end.IsZero() && !time.Now().Before(f.end) {
		if !f.force {
			f.mu.Unlock()
			s.abortFailover("Replica never caught up before timeout")
			return true
		}
		s.Logger.Printf("FAILOVER to %s time out exceeded, failing over.", f.target)
		f.state = failoverInProgress
		target := f.target
		f.mu.Unlock()
		s.follow(target, "failover")
		return true
	}
	target := f.target
	f.mu.Unlock()
	s.DB.Mu.Lock()
	off := s.repl.off
	var caughtUp *replicaLink
	for _, l := range s.replicas {
		if (target == "" || l.addr == target) && l.ackOff.Load() == off {
			caughtUp = l
			break
		}
	}
	s.DB.Mu.Unlock()
	if caughtUp == nil {
		return true
	}
	f.mu.Lock()
	if f.state != failoverWaitForSync { // aborted meanwhile
		f.mu.Unlock()
		return true
	}
	f.state, f.target = failoverInProgress, caughtUp.addr
	f.mu.Unlock()
	s.Logger.Printf("Failover target %s is synced, failing over.", caughtUp.addr)
	s.follow(caughtUp.addr, "failover")
	return true
}

// endFailover clears the failover state and lets writes through again.
func (s *Server) endFailover() {
	f := &s.failover
	f.mu.Lock()
	f.state, f.force, f.target, f.end = failoverNone, false, "", time.Time{}
	f.mu.Unlock()
	s.pause.setFailover(false)
	s.syncExpiryPause()
}

// abortFailover gives up: a node that already turned to the target is a
// master again.
func (s *Server) abortFailover(why string) {
	f := &s.failover
	f.mu.Lock()
	state, target := f.state, f.target
	f.mu.Unlock()
	if state == failoverNone {
		return
	}
	if target == "" {
		target = "any replica"
	}
	s.Logger.Printf("FAILOVER to %s aborted: %s", target, why)
	if state == failoverInProgress {
		s.endFailover() // before unfollow, which REPLICAOF's guard would refuse otherwise
		s.unfollow("failover aborted")
		return
	}
	s.endFailover()
}

// failoverPsyncReply settles a failover in progress from the target's
// answer to PSYNC ... FAILOVER: a resync means the target is the master.
func (s *Server) failoverPsyncReply(accepted bool) {
	if !s.psyncFailover() {
		return
	}
	if accepted {
		s.endFailover()
		return
	}
	s.abortFailover("Failover target rejected psync request")
}

// acceptPsyncFailover is the target's side: PSYNC replid offset FAILOVER
// from its master makes it a master continuing the same history. It
// returns the error to answer, or "".
func (s *Server) acceptPsyncFailover(c *Client, replid []byte) string {
	s.Logger.Printf("Failover request received for replid %s.", replid)
	replica, _ := s.masterOf()
	if !replica || s.Cluster != nil {
		return "ERR PSYNC FAILOVER can't be sent to a master."
	}
	s.DB.Mu.Lock()
	same := string(replid) == s.repl.id
	s.DB.Mu.Unlock()
	if !same {
		return "ERR PSYNC FAILOVER replid must match my replid."
	}
	s.unfollow(fmt.Sprintf("failover request from '%s'", c.conn.RemoteAddr()))
	return ""
}
