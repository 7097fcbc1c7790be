package server

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Traffic and rate figures of INFO stats and cpu: bytes read and written
// by clients and by replication, read and write calls, and the
// instantaneous_* rates Redis derives from 100 ms samples.

// netCounter counts bytes and calls on one kind of traffic.
type netCounter struct {
	bytes, calls atomic.Int64
}

func (n *netCounter) add(b int) {
	n.bytes.Add(int64(b))
	n.calls.Add(1)
}

// countedReader counts what a client, or a replica from its master, reads.
type countedReader struct {
	r  io.Reader
	in *netCounter
}

func (c countedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.in.add(n)
	}
	return n, err
}

// SetReadDeadline lets the command reader interrupt an idle client's read
// to free its buffers (resp.Reader.Tidy).
func (c countedReader) SetReadDeadline(t time.Time) error {
	if d, ok := c.r.(interface{ SetReadDeadline(time.Time) error }); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}

// metricSamples is how many 100 ms samples a rate averages, as Redis.
const metricSamples = 16

// rateMetric turns a growing total into a per-second rate over the last
// samples.
type rateMetric struct {
	lastTotal int64
	lastTime  time.Time
	samples   [metricSamples]float64
	next      int
}

func (m *rateMetric) track(total int64, now time.Time) {
	if !m.lastTime.IsZero() {
		if dt := now.Sub(m.lastTime).Seconds(); dt > 0 {
			m.samples[m.next] = float64(total-m.lastTotal) / dt
			m.next = (m.next + 1) % metricSamples
		}
	}
	m.lastTotal, m.lastTime = total, now
}

func (m *rateMetric) rate() float64 {
	sum := 0.0
	for _, v := range m.samples {
		sum += v
	}
	return sum / metricSamples
}

// trafficStats is the server's traffic counters and rates.
type trafficStats struct {
	in, out, replIn, replOut netCounter
	mu                       sync.Mutex
	ops, inRate, outRate     rateMetric
	replInRate, replOutRate  rateMetric
}

// sample records one 100 ms sample of every rate; called by the cron.
func (s *Server) sampleRates() {
	t := &s.traffic
	ops := s.commandsProcessed()
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.ops.track(ops, now)
	t.inRate.track(t.in.bytes.Load(), now)
	t.outRate.track(t.out.bytes.Load(), now)
	t.replInRate.track(t.replIn.bytes.Load(), now)
	t.replOutRate.track(t.replOut.bytes.Load(), now)
}

// trafficInfo writes INFO stats' traffic lines from total_net_input_bytes
// to instantaneous_output_repl_kbps.
func (s *Server) trafficInfo(line func(string, any)) {
	t := &s.traffic
	t.mu.Lock()
	ops, in, out, rin, rout := t.ops.rate(), t.inRate.rate(), t.outRate.rate(), t.replInRate.rate(), t.replOutRate.rate()
	t.mu.Unlock()
	line("instantaneous_ops_per_sec", int64(ops))
	line("total_net_input_bytes", t.in.bytes.Load())
	line("total_net_output_bytes", t.out.bytes.Load())
	line("total_net_repl_input_bytes", t.replIn.bytes.Load())
	line("total_net_repl_output_bytes", t.replOut.bytes.Load())
	kbps := func(v float64) string { return fmt.Sprintf("%.2f", v/1024) }
	line("instantaneous_input_kbps", kbps(in))
	line("instantaneous_output_kbps", kbps(out))
	line("instantaneous_input_repl_kbps", kbps(rin))
	line("instantaneous_output_repl_kbps", kbps(rout))
}

// cpuInfo writes INFO cpu: the process's CPU time. The engine runs no
// child processes and no single main thread, so the main thread's figures
// are the process's.
func cpuInfo(line func(string, any)) {
	var self, children syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	secs := func(tv syscall.Timeval) string {
		return fmt.Sprintf("%d.%06d", tv.Sec, tv.Usec)
	}
	line("used_cpu_sys", secs(self.Stime))
	line("used_cpu_user", secs(self.Utime))
	line("used_cpu_sys_children", secs(children.Stime))
	line("used_cpu_user_children", secs(children.Utime))
	line("used_cpu_sys_main_thread", secs(self.Stime))
	line("used_cpu_user_main_thread", secs(self.Utime))
}
