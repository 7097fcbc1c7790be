package server

import (
	"errors"
	"strconv"

	"github.com/gocluster/gocluster/pkg/engine/pubsub"
)

// Delivery of invalidations: each receiving connection gets a queue, which
// its own goroutine writes before each command and a small writer
// goroutine writes while it is idle, both under its wmu.

// sendTrackingMessage sends an invalidation about payload (the RESP array
// of keys, or a null) for tracking client c: to c itself in RESP3, or to
// its redirect client, as a push in RESP3 or a message on
// __redis__:invalidate to a subscribed RESP2 connection.
func (s *Server) sendTrackingMessage(c *Client, payload []byte) {
	target, redirected := c, false
	if id := c.track.redirect.Load(); id != 0 {
		target = s.liveClient(id)
		if target == nil {
			c.track.flags.Or(trackBrokenRedir)
			if c.proto() == 3 {
				msg := append([]byte(">2\r\n$21\r\ntracking-redir-broken\r\n:"), strconv.FormatInt(id, 10)...)
				s.queuePush(c, append(msg, '\r', '\n'))
			}
			return
		}
		redirected = true
	}
	var msg []byte
	switch {
	case target.proto() == 3:
		msg = append(msg, ">2\r\n$10\r\ninvalidate\r\n"...)
	case redirected && target.subscribed():
		msg = append(msg, "*3\r\n$7\r\nmessage\r\n$20\r\n"+invalidateChannel+"\r\n"...)
	default:
		return // RESP2 has no pushes on a connection that is not subscribed
	}
	s.queuePush(target, append(msg, payload...))
}

// liveClient is the connected client with id, or nil.
func (s *Server) liveClient(id int64) *Client {
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil || c.track.closed {
		return nil
	}
	return c
}

// proto is the client's protocol, read from any goroutine.
func (c *Client) proto() int {
	c.infoMu.Lock()
	defer c.infoMu.Unlock()
	return c.w.Proto()
}

// subscribed reports Redis's pub/sub flag: the client listens to a channel,
// pattern or shard channel. Read from any goroutine.
func (c *Client) subscribed() bool {
	c.infoMu.Lock()
	sub := c.sub
	c.infoMu.Unlock()
	if sub == nil {
		return false
	}
	ch, pat, shard := c.srv.PubSub.Count(sub)
	return ch+pat+shard > 0
}

// queuePush queues msg for c's connection, starting its writer on first use.
func (s *Server) queuePush(c *Client, msg []byte) {
	q := c.track.queue.Load()
	if q == nil {
		if c.track.closed {
			return
		}
		q = &pushQueue{sub: pubsub.NewSub(2), stop: make(chan struct{})}
		c.track.queue.Store(q)
		s.wg.Add(1)
		go c.trackingPushLoop(q)
	}
	q.sub.Push(msg) // over the limit, the writer closes the connection
}

// trackingPushLoop writes queued invalidations while the connection is
// idle. It takes the queue under wmu, so that writePendingPushes (run by the
// connection before each command) and this loop never reorder pushes.
func (c *Client) trackingPushLoop(q *pushQueue) {
	defer c.srv.wg.Done()
	for {
		select {
		case <-q.stop:
			return
		case <-q.sub.Wake():
		}
		c.wmu.Lock()
		err := c.writePendingPushes()
		c.wmu.Unlock()
		if err != nil {
			return
		}
	}
}

// writePendingPushes writes what is queued for c (wmu held).
func (c *Client) writePendingPushes() error {
	q := c.track.queue.Load()
	if q == nil {
		return nil
	}
	chunks, dead := q.sub.TakeChunks()
	if dead {
		c.srv.Logger.Printf("client %d %s: tracking output over %d bytes, closing the connection", c.id, c.conn.RemoteAddr(), pubsub.DefaultQueueLimit)
		c.conn.Close()
		return errQueueDead
	}
	if len(chunks) == 0 {
		return nil
	}
	err := c.w.WriteChunks(chunks)
	q.sub.Recycle(chunks)
	return err
}

var errQueueDead = errors.New("push queue over its limit")
