package conn

import "testing"

func TestParseAddr(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		bus     int
		wantErr bool
	}{
		{"127.0.0.1:7000", "127.0.0.1:7000", 0, false},
		{"localhost:6379", "localhost:6379", 0, false},
		{"[::1]:7000", "[::1]:7000", 0, false},
		{"127.0.0.1:7000@17000", "127.0.0.1:7000", 17000, false},
		{"127.0.0.1", "", 0, true},
		{"127.0.0.1:0", "", 0, true},
		{"127.0.0.1:65536", "", 0, true},
		{"127.0.0.1:abc", "", 0, true},
		{":7000", "", 0, true},
		{"127.0.0.1:7000@x", "", 0, true},
		{"::1:7000", "", 0, true},
	}
	for _, tt := range tests {
		a, err := ParseAddr(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseAddr(%q) err = %v", tt.in, err)
			continue
		}
		if err == nil && (a.String() != tt.want || a.BusPort != tt.bus) {
			t.Errorf("ParseAddr(%q) = %v bus %d", tt.in, a, a.BusPort)
		}
	}
}
