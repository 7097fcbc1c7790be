package conn

import "testing"

func TestParseServer(t *testing.T) {
	for _, tc := range []struct {
		info       string
		want       Server
		replicates bool
	}{
		{"# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\n", Server{"redis", "7.0.15"}, false},
		{"# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n", Server{"valkey", "8.0.1"}, true},
		{"redis_version:7.2.4\nvalkey_version:7.2.5\n", Server{"valkey", "7.2.5"}, false},
		{"redis_version:7.2.4\nvalkey_version:9.0.0\n", Server{"valkey", "9.0.0"}, true},
		{"redis_version:8.4.0\n", Server{"redis", "8.4.0"}, false},
	} {
		got, err := ParseServer(tc.info)
		if err != nil || got != tc.want {
			t.Errorf("ParseServer(%q) = %v, %v; want %v", tc.info, got, err, tc.want)
		}
		if got.ReplicatesSetslot() != tc.replicates {
			t.Errorf("%v.ReplicatesSetslot() = %v, want %v", got, got.ReplicatesSetslot(), tc.replicates)
		}
	}
	if _, err := ParseServer("# Server\r\nfoo:bar\r\n"); err == nil {
		t.Error("ParseServer accepted INFO without a version")
	}
}

func TestServerAtLeast(t *testing.T) {
	s := Server{"valkey", "8.1.3"}
	for _, tc := range []struct {
		major, minor int
		want         bool
	}{{8, 0, true}, {8, 1, true}, {8, 2, false}, {7, 9, true}, {9, 0, false}} {
		if got := s.AtLeast(tc.major, tc.minor); got != tc.want {
			t.Errorf("AtLeast(%d,%d) = %v", tc.major, tc.minor, got)
		}
	}
}

func TestRDBVersion(t *testing.T) {
	for _, tc := range []struct {
		s    Server
		want int
	}{
		{Server{"redis", "7.0.15"}, 10}, {Server{"redis", "7.2.4"}, 11}, {Server{"redis", "7.4.1"}, 12},
		{Server{"redis", "6.2.14"}, 9}, {Server{"valkey", "8.0.1"}, 11}, {Server{"valkey", "7.2.5"}, 11},
		{Server{"valkey", "9.0.0"}, 0}, {Server{"redis", "4.0.0"}, 0},
	} {
		if got := tc.s.RDBVersion(); got != tc.want {
			t.Errorf("%v.RDBVersion() = %d, want %d", tc.s, got, tc.want)
		}
	}
}
