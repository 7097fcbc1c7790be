package server

import (
	"github.com/gocluster/gocluster/pkg/engine/pubsub"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// Connections of users that go away or lose channels are closed, as
// Redis closes them: the caller's own connection after its reply.

// killClientsWhere closes the connections doomed picks, first putting
// them back to the default user, unauthenticated.
func (s *Server) killClientsWhere(self *Client, doomed func(*Client) bool) {
	s.mu.Lock()
	var victims []*Client
	for _, o := range s.clients {
		if doomed(o) {
			victims = append(victims, o)
		}
	}
	s.mu.Unlock()
	def := s.acl.user("default")
	for _, o := range victims {
		o.infoMu.Lock()
		o.authed, o.user, o.aclUser = false, "default", def
		o.infoMu.Unlock()
		if o == self {
			o.closeNow = true
		} else {
			o.kill()
		}
	}
}

// killClientsOf closes the connections authenticated as one of users.
func (s *Server) killClientsOf(self *Client, users []*aclUser) {
	if len(users) == 0 {
		return
	}
	s.killClientsWhere(self, func(o *Client) bool {
		o.infoMu.Lock()
		u := o.aclUser
		o.infoMu.Unlock()
		for _, d := range users {
			if u == d {
				return true
			}
		}
		return false
	})
}

// killRevokedSubscribers closes u's subscribed connections that listen to
// a channel or pattern the user's new channel rules no longer allow.
// allowed is nil when no change could revoke anything.
func (s *Server) killRevokedSubscribers(self *Client, u *aclUser, allowed []string) {
	if allowed == nil {
		return
	}
	matches := func(name string, literal bool) bool {
		for _, p := range allowed {
			if literal && p == name || !literal && store.Match([]byte(p), []byte(name)) {
				return true
			}
		}
		return false
	}
	s.killClientsWhere(self, func(o *Client) bool {
		o.infoMu.Lock()
		mine, sub := o.aclUser == u, o.sub
		o.infoMu.Unlock()
		if !mine || sub == nil {
			return false
		}
		for _, kind := range []pubsub.Kind{pubsub.Pattern, pubsub.Channel, pubsub.Shard} {
			for _, name := range s.PubSub.Names(sub, kind) {
				if !matches(name, kind == pubsub.Pattern) {
					return true
				}
			}
		}
		return false
	})
}

// channelsRevoked compares a user's channel rules before and after a
// change: nil when every channel allowed before still is (or all are
// allowed now), else every pattern the new selectors allow.
func channelsRevoked(before, after []*aclSelector) []string {
	upcoming := []string{}
	for _, s := range after {
		if s.allChannels {
			return nil
		}
		upcoming = append(upcoming, s.channels...)
	}
	for _, s := range before {
		if s.allChannels {
			return upcoming
		}
		for _, c := range s.channels {
			if indexOf(upcoming, c) < 0 {
				return upcoming
			}
		}
	}
	return nil
}
