package cluster

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"strconv"
	"sync"
	"time"
)

// cronInterval is how often the bus housekeeping runs (clusterCron is 100ms).
const cronInterval = 100 * time.Millisecond

// link is one bus connection. Outbound links belong to a node (node != nil,
// inbound false); inbound links carry whatever peers send us.
type link struct {
	conn    net.Conn
	node    *node
	inbound bool
	peer    *node // inbound links: the node that identified itself on it
	ctime   int64
	out     chan []byte
	done    chan struct{}
	once    sync.Once
}

func newLink(conn net.Conn, n *node, inbound bool) *link {
	return &link{conn: conn, node: n, inbound: inbound, ctime: mstime(),
		out: make(chan []byte, 256), done: make(chan struct{})}
}

// send queues a frame; a peer too slow to drain 256 frames loses some, as
// gossip is periodic and self-healing.
func (l *link) send(frame []byte) bool {
	select {
	case l.out <- frame:
		return true
	case <-l.done:
		return false
	default:
		return false
	}
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		if l.conn != nil {
			l.conn.Close()
		}
	})
}

// Start opens the cluster bus listener and starts the gossip loop.
func (c *Cluster) Start() error {
	c.mu.Lock()
	if c.started {
		c.mu.Unlock()
		return errors.New("cluster: already started")
	}
	c.started = true
	host := c.cfg.Host
	c.mu.Unlock()
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(c.cfg.BusPort)))
	if err != nil {
		return fmt.Errorf("cluster: bus listener: %w", err)
	}
	c.mu.Lock()
	c.listener = ln
	c.mu.Unlock()
	c.wg.Add(2)
	go c.acceptLoop(ln)
	go c.cronLoop()
	return nil
}

// Close stops the bus, closes every link and saves nodes.conf.
func (c *Cluster) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.closing)
	if c.listener != nil {
		c.listener.Close()
	}
	for l := range c.links {
		l.close()
	}
	c.mu.Unlock()
	c.wg.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saveGen++
	return c.writeConfigNow(true)
}

// BusAddr is the address the bus listens on (after Start).
func (c *Cluster) BusAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.listener == nil {
		return ""
	}
	return c.listener.Addr().String()
}

func (c *Cluster) acceptLoop(ln net.Listener) {
	defer c.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-c.closing:
				return
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		l := newLink(conn, nil, true)
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			conn.Close()
			return
		}
		c.links[l] = struct{}{}
		c.mu.Unlock()
		c.runLink(l)
	}
}

// runLink starts the reader and writer goroutines of a connected link.
func (c *Cluster) runLink(l *link) {
	c.wg.Add(2)
	go c.writeLoop(l)
	go c.readLoop(l)
}

func (c *Cluster) writeLoop(l *link) {
	defer c.wg.Done()
	for {
		select {
		case <-l.done:
			return
		case frame := <-l.out:
			l.conn.SetWriteDeadline(time.Now().Add(time.Duration(c.writeTimeout.Load())))
			if _, err := l.conn.Write(frame); err != nil {
				c.dropLink(l)
				return
			}
		}
	}
}

func (c *Cluster) readLoop(l *link) {
	defer c.wg.Done()
	br := bufio.NewReaderSize(l.conn, 16*1024)
	var hdr [frameHeaderSize]byte
	var body []byte // reused: decodeMessage copies what it keeps
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			c.dropLink(l)
			return
		}
		size := int(binary.BigEndian.Uint32(hdr[4:]))
		if string(hdr[:4]) != busMagic || size < frameHeaderSize || size > maxPublishFrame {
			c.logf("cluster bus: bad frame from %s, closing link", l.conn.RemoteAddr())
			c.dropLink(l)
			return
		}
		if size > maxFrameSize && !publishAhead(br) {
			c.logf("cluster bus: oversized frame from %s, closing link", l.conn.RemoteAddr())
			c.dropLink(l)
			return
		}
		if cap(body) < size-frameHeaderSize {
			body = make([]byte, size-frameHeaderSize)
		}
		body = body[:size-frameHeaderSize]
		if _, err := io.ReadFull(br, body); err != nil {
			c.dropLink(l)
			return
		}
		m, err := decodeMessage(body)
		if err != nil {
			c.logf("cluster bus: %v from %s, closing link", err, l.conn.RemoteAddr())
			c.dropLink(l)
			return
		}
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		if _, live := c.links[l]; live && !c.processRecovering(l, m) {
			c.freeLink(l) // a message that broke the handler: drop its sender's link
			c.unlock()
			return
		}
		c.unlock()
	}
}

// processRecovering is processMessage (mu held) with a last line of
// defence: a panic on a hostile or unforeseen message is logged, and false
// returned, instead of ending the process with every node it hosts.
func (c *Cluster) processRecovering(l *link, m *message) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			c.logf("cluster bus: panic handling a message of type %d from %s: %v\n%s", m.typ, l.conn.RemoteAddr(), r, debug.Stack())
			ok = false
		}
	}()
	c.processMessage(l, m)
	return true
}

// publishAhead reports whether the frame body about to be read is a
// published message, the only kind that may exceed maxFrameSize.
func publishAhead(br *bufio.Reader) bool {
	t, err := br.Peek(2)
	if err != nil {
		return false
	}
	typ := binary.BigEndian.Uint16(t)
	return typ == msgPublish || typ == msgPublishShard
}

// dropLink closes a link after an I/O error.
func (c *Cluster) dropLink(l *link) {
	c.mu.Lock()
	c.freeLink(l)
	c.mu.Unlock()
}

// freeLink closes l and detaches it from its node (mu held).
func (c *Cluster) freeLink(l *link) {
	if l == nil {
		return
	}
	if l.node != nil && l.node.link == l {
		l.node.link = nil
	}
	delete(c.links, l)
	l.close()
}

// connect dials a node's bus in the background and, once connected, sends
// it a PING (or MEET for a node we were asked to meet).
func (c *Cluster) connect(n *node) {
	n.connecting = true
	addr := n.busAddr()
	dialer := net.Dialer{Timeout: min(c.cfg.NodeTimeout, time.Second)}
	if concreteIP(c.cfg.Host) {
		// Leave from our bind address, as Redis does, so peers that learn
		// our address from the socket see the right one (127.0.0.2 ...).
		dialer.LocalAddr = &net.TCPAddr{IP: net.ParseIP(c.cfg.Host)}
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		conn, err := dialer.Dial("tcp", addr)
		c.mu.Lock()
		defer c.unlock()
		n.connecting = false
		if c.closed || c.nodes[n.id] != n || n.busAddr() != addr || n.link != nil {
			if conn != nil {
				conn.Close()
			}
			return
		}
		if err != nil {
			if n.pingSent == 0 { // so an unreachable node ends up PFAIL
				n.pingSent = mstime()
			}
			return
		}
		if tc, ok := conn.(*net.TCPConn); ok {
			tc.SetNoDelay(true)
		}
		l := newLink(conn, n, false)
		n.link = l
		c.links[l] = struct{}{}
		c.runLink(l)
		typ := uint16(msgPing)
		if n.flags&flagMeet != 0 {
			typ = msgMeet
			n.flags &^= flagMeet
		}
		c.sendPing(l, typ)
	}()
}

func (c *Cluster) cronLoop() {
	defer c.wg.Done()
	t := time.NewTicker(cronInterval)
	defer t.Stop()
	for {
		select {
		case <-c.closing:
			return
		case <-t.C:
			c.mu.Lock()
			c.cron()
			c.unlock()
		}
	}
}
