package conn

import (
	"slices"
	"testing"
)

func TestConnectedReplicas(t *testing.T) {
	info := "# Replication\r\nrole:master\r\nconnected_slaves:2\r\n" +
		"slave1:ip=::1,port=7002,state=wait_bgsave,offset=0,lag=0\r\n" +
		"slave0:ip=127.0.0.1,port=7001,state=online,offset=1402,lag=1\r\n" +
		"slave_read_repl_offset:1402\r\nslave_repl_offset:1402\r\nmaster_replid:abc\r\n"
	fields := InfoFields(info)
	if fields["master_replid"] != "abc" || fields["connected_slaves"] != "2" {
		t.Fatalf("InfoFields = %v", fields)
	}
	want := []ReplicaLink{{"127.0.0.1:7001", "online", 1402}, {"[::1]:7002", "wait_bgsave", 0}}
	if got := ConnectedReplicas(fields); !slices.Equal(got, want) {
		t.Fatalf("ConnectedReplicas = %+v, want %+v", got, want)
	}
	if got := ConnectedReplicas(InfoFields("role:slave\r\nslave_repl_offset:5\r\n")); len(got) != 0 {
		t.Fatalf("a replica's INFO lists replicas %+v", got)
	}
}
