package rdb

import (
	"encoding/binary"
	"strconv"
)

// readStream reads a stream object of type 15 (Redis 5-6), 19 (7.0) or 21
// (7.2 and Valkey 8, with consumers' active time). Everything the engine
// relies on is checked, so a hostile payload is refused rather than
// stored: node keys and entry IDs strictly increasing, listpacks well
// formed with counts that match their entries, the stream length equal to
// the live entries, every pending entry owned by exactly one consumer.
func readStream(s source, t byte) (Value, error) {
	nodes, err := readCount(s)
	if err != nil {
		return Value{}, err
	}
	st := &Stream{Nodes: make([]StreamNode, 0, prealloc(nodes, s))}
	var live uint64
	var prev StreamID
	havePrev := false
	for range nodes {
		key, err := readString(s)
		if err != nil {
			return Value{}, err
		}
		if len(key) != 16 {
			return Value{}, corrupt("stream node key of %d bytes", len(key))
		}
		master := StreamID{binary.BigEndian.Uint64(key), binary.BigEndian.Uint64(key[8:])}
		blob, err := readString(s)
		if err != nil {
			return Value{}, err
		}
		node, err := parseStreamNode(master, blob)
		if err != nil {
			return Value{}, err
		}
		if havePrev && master.Compare(prev) <= 0 {
			return Value{}, corrupt("stream node keys out of order")
		}
		for i := range node.Entries {
			id := node.Entries[i].ID
			if havePrev && id.Compare(prev) <= 0 || id.Compare(master) < 0 {
				return Value{}, corrupt("stream entry IDs out of order")
			}
			prev, havePrev = id, true
			if !node.Entries[i].Deleted {
				live++
			}
		}
		st.Nodes = append(st.Nodes, node)
	}
	meta := []*uint64{&st.Length, &st.LastID.Ms, &st.LastID.Seq}
	if t != typeStreamLP {
		meta = append(meta, &st.FirstID.Ms, &st.FirstID.Seq, &st.MaxDeletedID.Ms, &st.MaxDeletedID.Seq, &st.EntriesAdded)
	}
	for _, p := range meta {
		if *p, err = readPlainLen(s); err != nil {
			return Value{}, err
		}
	}
	if st.Length != live {
		return Value{}, corrupt("stream length %d, %d live entries", st.Length, live)
	}
	if havePrev && prev.Compare(st.LastID) > 0 {
		return Value{}, corrupt("stream entry after the last ID")
	}
	if t == typeStreamLP {
		// Redis 5-6 did not keep these: derived as Redis derives them.
		st.EntriesAdded = st.Length
		st.FirstID = firstLiveID(st)
	}
	groups, err := readCount(s)
	if err != nil {
		return Value{}, err
	}
	seen := map[string]bool{}
	for range groups {
		g, err := readStreamGroup(s, t, st)
		if err != nil {
			return Value{}, err
		}
		if seen[string(g.Name)] {
			return Value{}, corrupt("duplicate consumer group")
		}
		seen[string(g.Name)] = true
		st.Groups = append(st.Groups, g)
	}
	return Value{Kind: KindStream, Stream: st}, nil
}

func firstLiveID(st *Stream) StreamID {
	for i := range st.Nodes {
		for _, e := range st.Nodes[i].Entries {
			if !e.Deleted {
				return e.ID
			}
		}
	}
	return StreamID{}
}

// readMetaLen reads a metadata number: a length, never a string encoding.
func readMetaLen(s source) (uint64, error) { return readPlainLen(s) }

func readStreamGroup(s source, t byte, st *Stream) (StreamGroup, error) {
	name, err := readString(s)
	if err != nil {
		return StreamGroup{}, err
	}
	g := StreamGroup{Name: name}
	if g.LastID.Ms, err = readMetaLen(s); err != nil {
		return g, err
	}
	if g.LastID.Seq, err = readMetaLen(s); err != nil {
		return g, err
	}
	if t == typeStreamLP {
		g.EntriesRead = estimateEntriesRead(st, g.LastID)
	} else {
		n, err := readMetaLen(s)
		if err != nil {
			return g, err
		}
		g.EntriesRead = int64(n)
		if g.EntriesRead < -1 {
			return g, corrupt("consumer group entries-read %d", g.EntriesRead)
		}
	}
	pel, err := readCount(s)
	if err != nil {
		return g, err
	}
	owner := make(map[StreamID]int, prealloc(pel, s))
	g.PEL = make([]StreamNACK, 0, prealloc(pel, s))
	for range pel {
		raw, err := s.read(16)
		if err != nil {
			return g, err
		}
		var n StreamNACK
		n.ID = StreamID{binary.BigEndian.Uint64(raw), binary.BigEndian.Uint64(raw[8:])}
		b, err := s.read(8)
		if err != nil {
			return g, err
		}
		n.DeliveryTime = int64(binary.LittleEndian.Uint64(b))
		if n.DeliveryCount, err = readMetaLen(s); err != nil {
			return g, err
		}
		if _, dup := owner[n.ID]; dup {
			return g, corrupt("duplicate pending entry")
		}
		owner[n.ID] = 0
		g.PEL = append(g.PEL, n)
	}
	consumers, err := readCount(s)
	if err != nil {
		return g, err
	}
	names := map[string]bool{}
	for range consumers {
		var c StreamConsumer
		if c.Name, err = readString(s); err != nil {
			return g, err
		}
		if names[string(c.Name)] {
			return g, corrupt("duplicate stream consumer")
		}
		names[string(c.Name)] = true
		b, err := s.read(8)
		if err != nil {
			return g, err
		}
		c.SeenTime = int64(binary.LittleEndian.Uint64(b))
		if t == typeStreamLP3 {
			if b, err = s.read(8); err != nil {
				return g, err
			}
			c.ActiveTime = int64(binary.LittleEndian.Uint64(b))
		}
		n, err := readCount(s)
		if err != nil {
			return g, err
		}
		for range n {
			raw, err := s.read(16)
			if err != nil {
				return g, err
			}
			id := StreamID{binary.BigEndian.Uint64(raw), binary.BigEndian.Uint64(raw[8:])}
			owners, ok := owner[id]
			if !ok {
				return g, corrupt("consumer pending entry not in the group's")
			}
			if owners > 0 {
				return g, corrupt("pending entry owned twice")
			}
			owner[id] = 1
			c.Pending = append(c.Pending, id)
		}
		g.Consumers = append(g.Consumers, c)
	}
	for _, n := range owner {
		if n == 0 {
			return g, corrupt("pending entry without a consumer")
		}
	}
	return g, nil
}

// estimateEntriesRead is Redis's streamEstimateDistanceFromFirstEverEntry
// on a freshly loaded old-format stream (no tombstones are known).
func estimateEntriesRead(st *Stream, id StreamID) int64 {
	if st.EntriesAdded == 0 {
		return 0
	}
	if st.Length == 0 && id.Compare(st.LastID) <= 0 {
		return int64(st.EntriesAdded)
	}
	switch c := id.Compare(st.LastID); {
	case c == 0:
		return int64(st.EntriesAdded)
	case c > 0:
		return -1
	}
	switch c := id.Compare(st.FirstID); {
	case c < 0:
		return int64(st.EntriesAdded - st.Length)
	case c == 0:
		return int64(st.EntriesAdded - st.Length + 1)
	}
	return -1
}

// parseStreamNode decodes one node listpack (see streamNodeListpack).
func parseStreamNode(master StreamID, blob []byte) (StreamNode, error) {
	items, err := listpackEntries(blob)
	if err != nil {
		return StreamNode{}, err
	}
	pos := 0
	next := func() ([]byte, error) {
		if pos >= len(items) {
			return nil, corrupt("stream listpack ends early")
		}
		pos++
		return items[pos-1], nil
	}
	nextInt := func() (int64, error) {
		b, err := next()
		if err != nil {
			return 0, err
		}
		v, err := strconv.ParseInt(string(b), 10, 64)
		if err != nil {
			return 0, corrupt("stream listpack: %q is not an integer", b)
		}
		return v, nil
	}
	node := StreamNode{MasterID: master}
	live, err := nextInt()
	if err != nil {
		return node, err
	}
	deleted, err := nextInt()
	if err != nil {
		return node, err
	}
	nfields, err := nextInt()
	if err != nil {
		return node, err
	}
	if live < 0 || deleted < 0 || nfields < 0 || nfields > int64(len(items)) || live+deleted > int64(len(items)) {
		return node, corrupt("stream listpack master entry counts")
	}
	for range nfields {
		f, err := next()
		if err != nil {
			return node, err
		}
		node.MasterFields = append(node.MasterFields, f)
	}
	if zero, err := nextInt(); err != nil || zero != 0 {
		return node, corrupt("stream listpack master entry terminator")
	}
	if live+deleted == 0 {
		return node, corrupt("empty stream listpack")
	}
	node.Entries = make([]StreamEntry, 0, live+deleted)
	var seenLive, seenDeleted int64
	for pos < len(items) {
		flags, err := nextInt()
		if err != nil {
			return node, err
		}
		msDelta, err := nextInt()
		if err != nil {
			return node, err
		}
		seqDelta, err := nextInt()
		if err != nil {
			return node, err
		}
		e := StreamEntry{ID: StreamID{master.Ms + uint64(msDelta), master.Seq + uint64(seqDelta)}, Deleted: flags&streamFlagDeleted != 0}
		pairs := nfields
		same := flags&streamFlagSameFields != 0
		if !same {
			if pairs, err = nextInt(); err != nil {
				return node, err
			}
			if pairs < 0 || pairs > int64(len(items)) {
				return node, corrupt("stream entry field count %d", pairs)
			}
		}
		e.Fields = make([][]byte, 0, 2*pairs)
		for j := range pairs {
			f := []byte(nil)
			if same {
				f = node.MasterFields[j]
			} else if f, err = next(); err != nil {
				return node, err
			}
			v, err := next()
			if err != nil {
				return node, err
			}
			e.Fields = append(e.Fields, f, v)
		}
		count, err := nextInt()
		if err != nil {
			return node, err
		}
		want := pairs + 3
		if !same {
			want += pairs + 1
		}
		if count != want {
			return node, corrupt("stream entry lp-count %d, want %d", count, want)
		}
		if e.Deleted {
			seenDeleted++
		} else {
			seenLive++
		}
		node.Entries = append(node.Entries, e)
	}
	if seenLive != live || seenDeleted != deleted {
		return node, corrupt("stream listpack counts %d+%d, holds %d+%d", live, deleted, seenLive, seenDeleted)
	}
	if len(node.Entries) > 0 && node.Entries[0].ID.Compare(master) < 0 {
		return node, corrupt("stream entry before its node's master ID")
	}
	return node, nil
}
