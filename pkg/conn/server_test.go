package conn

import "testing"

func TestParseServer(t *testing.T) {
	for _, tc := range []struct {
		info       string
		want       Server
		replicates bool
		atomic     bool
	}{
		{"# Server\r\nredis_version:7.0.15\r\nredis_mode:cluster\r\n", Server{Flavor: "redis", Version: "7.0.15"}, false, false},
		{"# Server\r\nredis_version:7.0.15\r\nengine:gocluster go1.24.1\r\n", Server{Flavor: "redis", Version: "7.0.15", Engine: true}, false, true},
		{"# Server\r\nredis_version:7.2.4\r\nserver_name:valkey\r\nvalkey_version:8.0.1\r\n", Server{Flavor: "valkey", Version: "8.0.1"}, true, false},
		{"redis_version:7.2.4\nvalkey_version:7.2.5\n", Server{Flavor: "valkey", Version: "7.2.5"}, false, false},
		{"redis_version:7.2.4\nvalkey_version:9.0.0\n", Server{Flavor: "valkey", Version: "9.0.0"}, true, true},
		{"redis_version:8.2.3\n", Server{Flavor: "redis", Version: "8.2.3"}, false, false},
		{"redis_version:8.4.0\n", Server{Flavor: "redis", Version: "8.4.0"}, false, true},
	} {
		got, err := ParseServer(tc.info)
		if err != nil || got != tc.want {
			t.Errorf("ParseServer(%q) = %v, %v; want %v", tc.info, got, err, tc.want)
		}
		if got.ReplicatesSetslot() != tc.replicates {
			t.Errorf("%v.ReplicatesSetslot() = %v, want %v", got, got.ReplicatesSetslot(), tc.replicates)
		}
		if got.MayMigrateSlotsAtomically() != tc.atomic {
			t.Errorf("%v.MayMigrateSlotsAtomically() = %v, want %v", got, got.MayMigrateSlotsAtomically(), tc.atomic)
		}
	}
	if _, err := ParseServer("# Server\r\nfoo:bar\r\n"); err == nil {
		t.Error("ParseServer accepted INFO without a version")
	}
}

func TestServerAtLeast(t *testing.T) {
	s := Server{Flavor: "valkey", Version: "8.1.3"}
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
		{Server{Flavor: "redis", Version: "7.0.15"}, 10}, {Server{Flavor: "redis", Version: "7.2.4"}, 11}, {Server{Flavor: "redis", Version: "7.4.1"}, 12},
		{Server{Flavor: "redis", Version: "6.2.14"}, 9}, {Server{Flavor: "valkey", Version: "8.0.1"}, 11}, {Server{Flavor: "valkey", Version: "7.2.5"}, 11},
		{Server{Flavor: "valkey", Version: "9.0.0"}, 0}, {Server{Flavor: "redis", Version: "4.0.0"}, 0},
		{Server{Flavor: "redis", Version: "8.4.0"}, 12}, {Server{Flavor: "redis", Version: "255.255.255"}, 0},
	} {
		if got := tc.s.RDBVersion(); got != tc.want {
			t.Errorf("%v.RDBVersion() = %d, want %d", tc.s, got, tc.want)
		}
	}
}
