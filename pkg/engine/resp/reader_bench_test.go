package resp

import "testing"

// oneCommandReader hands out one command per Read, as a client that waits
// for each reply does: every command costs the reader one fill.
type oneCommandReader struct{ cmd []byte }

func (o *oneCommandReader) Read(p []byte) (int, error) { return copy(p, o.cmd), nil }

func BenchmarkReadCommandOnePerRead(b *testing.B) {
	r := NewReader(&oneCommandReader{cmd: []byte("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n")})
	b.ReportAllocs()
	for range b.N {
		if _, err := r.ReadCommand(); err != nil {
			b.Fatal(err)
		}
	}
}
