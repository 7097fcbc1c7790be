package store

// WATCH support, as Redis's watch.c: the keyspace keeps, for every watched
// key, the watchers of that key; touching the key (any modification, a
// deletion by expiry, FLUSHALL, losing its slot) marks them dirty, and a
// dirty watcher's next EXEC fails. Only watched keys cost anything: with no
// watcher, Touch is one map length check.

// Watcher is one client's set of watched keys. The zero value is ready to
// use; every method needs DB.Mu held.
type Watcher struct {
	dirty bool
	keys  []*watchedKey
}

type watchedKey struct {
	key     string
	w       *Watcher
	expired bool // the key was already logically expired when watched
}

// Dirty reports whether a watched key was touched since WATCH.
func (w *Watcher) Dirty() bool { return w.dirty }

// Watching reports whether the watcher has keys.
func (w *Watcher) Watching() bool { return len(w.keys) > 0 }

// Watching reports whether any client watches a key (a cheap test that
// lets callers skip the work of finding which keys a command touched).
func (db *DB) Watching() bool { return len(db.watched) > 0 }

// Watch adds key to w's watched keys, remembering whether it is a stale
// (expired but not yet deleted) key.
func (db *DB) Watch(w *Watcher, key []byte) {
	for _, wk := range w.keys {
		if wk.key == string(key) {
			return
		}
	}
	wk := &watchedKey{key: string(key), w: w, expired: db.isStale(key)}
	w.keys = append(w.keys, wk)
	if db.watched == nil {
		db.watched = make(map[string][]*watchedKey)
	}
	db.watched[wk.key] = append(db.watched[wk.key], wk)
}

// Unwatch forgets w's watched keys and clears its dirty flag.
func (db *DB) Unwatch(w *Watcher) {
	db.unwatchKeys(w)
	w.dirty = false
}

func (db *DB) unwatchKeys(w *Watcher) {
	for _, wk := range w.keys {
		list := db.watched[wk.key]
		for i, x := range list {
			if x == wk {
				list = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(list) == 0 {
			delete(db.watched, wk.key)
		} else {
			db.watched[wk.key] = list
		}
	}
	w.keys = nil
}

// WatchedKeyExpired reports whether a key w watches expired since WATCH
// (EXEC fails then, even when the key was not deleted yet).
func (db *DB) WatchedKeyExpired(w *Watcher) bool {
	for _, wk := range w.keys {
		if !wk.expired && db.isStale([]byte(wk.key)) {
			return true
		}
	}
	return false
}

// isStale reports whether key is present but past its TTL.
func (db *DB) isStale(key []byte) bool {
	sd := &db.slots[KeySlot(key)]
	if _, ok := sd.keys.get(byteString(key)); !ok {
		return false
	}
	at, has := sd.expires[string(key)]
	return has && at <= db.Now()
}

// Touch marks the watchers of key dirty: the key was modified.
func (db *DB) Touch(key []byte) {
	if db.OnModified != nil {
		db.OnModified(key)
	}
	if len(db.watched) == 0 {
		return
	}
	list := db.watched[string(key)]
	if len(list) == 0 {
		return
	}
	present := false
	if _, ok := db.slots[KeySlot(key)].keys.get(byteString(key)); ok {
		present = true
	}
	var dirty []*Watcher
	for _, wk := range list {
		if wk.expired {
			if !present {
				// the stale key was deleted: logically no change
				wk.expired = false
				continue
			}
		}
		dirty = append(dirty, wk.w)
	}
	for _, w := range dirty {
		w.dirty = true
		db.unwatchKeys(w) // nothing more to learn until EXEC
	}
}

// touchExisting touches every watched key present in the keyspace (or in
// one slot when slot >= 0), before they are all deleted. A stale watched
// key's deletion is no change.
func (db *DB) touchExisting(slot int) {
	if len(db.watched) == 0 {
		return
	}
	for k, list := range db.watched {
		s := KeySlot([]byte(k))
		if slot >= 0 && s != slot {
			continue
		}
		if !db.slots[s].keys.has(k) {
			continue
		}
		for _, wk := range list {
			if wk.expired {
				wk.expired = false
				continue
			}
			wk.w.dirty = true
		}
	}
}
