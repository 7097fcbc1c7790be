package admin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gocluster/gocluster/pkg/conn"
	"github.com/gocluster/gocluster/pkg/slots"
	"github.com/gocluster/gocluster/pkg/topology"
	"github.com/redis/go-redis/v9"
)

// SavedConflict is a key that had different values on the node fix emptied
// and on the slot's owner. Both copies stay on the owner: the one fix kept
// under the key's own name, the other under SavedAs, in the same slot.
type SavedConflict struct {
	Slot    int    `json:"slot"`
	Key     string `json:"key"`
	Kept    string `json:"kept"`     // the node whose copy holds the key's name
	SavedAs string `json:"saved_as"` // the other copy's new name, on the owner
	From    string `json:"from"`     // the node the saved copy came from
}

// conflictRounds bounds how often fix saves a copy and moves a slot's keys
// again: a client may recreate a key on the owner between the two.
const conflictRounds = 3

// keepMovedCopy says which copy of a conflicting key fix keeps under its
// name. In an open slot the node being emptied holds the migration's copy:
// MIGRATE brought it there from the source (keys leave a migrating source
// only that way), or clients wrote it there after an ASK redirect, so it is
// newer than what the source's replica had when it took over. But when the
// owner is a source still migrating the slot, its copy is the newest: a
// key it holds was never deleted there, so every write to it went there,
// and a copy elsewhere is one made from it (gocluster keeps a key on the
// source until the target's replicas have it, so a target that failed over
// leaves such copies). Elsewhere (several owners, uncovered slots) nothing
// says which copy is newer, and the owner's is kept.
func keepMovedCopy(step FixStep) bool {
	return step.Kind == topology.KindOpenSlot && !step.OwnerMigrating
}

// saveConflicts copies one copy of each conflicting key to a new name on
// the owner and deletes it under the key's name, so the next drain of the
// slot leaves both copies on the owner: the owner's copy is saved when the
// moved one is kept, else the moved one. A key gone meanwhile needs no
// saving.
func saveConflicts(ctx context.Context, pool *conn.Pool, a FixAction, keys []string, keepMoved bool) ([]SavedConflict, error) {
	holder, holderID, kept := a.Node, a.NodeID, a.Peer
	if keepMoved {
		holder, holderID, kept = a.Peer, a.PeerID, a.Node
	}
	tag := fmt.Sprintf("gocluster-conflict:%s:%d", shortID(holderID), time.Now().Unix())
	var saved []SavedConflict
	for _, key := range keys {
		name, err := savedKeyName(key, tag)
		if err != nil {
			return saved, err
		}
		savedAs, err := saveCopy(ctx, pool, holder, a.Peer, key, name)
		if err != nil {
			return saved, err
		}
		if savedAs != "" {
			saved = append(saved, SavedConflict{Slot: a.Slots[0], Key: key, Kept: kept, SavedAs: savedAs, From: holder})
		}
	}
	return saved, nil
}

// deleteIfUnchanged deletes a key only if its DUMP still equals ARGV[1]:
// a client write that lands between fix's DUMP and DEL is never lost.
const deleteIfUnchanged = `if redis.call('DUMP', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return -1`

// saveCopy moves holder's copy of key to name on owner: DUMP and PTTL on
// holder, RESTORE under the first free variant of name on owner, then a
// delete on holder that only happens if the copy did not change meanwhile
// (else the restored name is dropped and it starts again). Renaming is not
// enough: RENAME in a slot being imported answers TRYAGAIN while the new
// name does not exist. Every command is preceded by ASKING, which a node
// importing the slot needs. It returns the name used, "" when key is gone.
func saveCopy(ctx context.Context, pool *conn.Pool, holder, owner, key, name string) (string, error) {
	hc, oc := pool.Get(holder), pool.Get(owner)
	for attempt := 0; attempt < 5; attempt++ {
		var dump *redis.StringCmd
		var pttl *redis.DurationCmd
		_, _ = hc.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Do(ctx, "ASKING")
			dump = p.Dump(ctx, key)
			p.Do(ctx, "ASKING")
			pttl = p.PTTL(ctx, key)
			return nil
		})
		payload, err := dump.Result()
		if errors.Is(err, redis.Nil) {
			return "", nil
		}
		if err != nil {
			return "", conn.NodeError(holder, "DUMP", err)
		}
		ttl := max(pttl.Val(), 0) // no expiry, or gone (the delete below then fails the check)
		restored, err := restoreFree(ctx, oc, name, ttl, payload)
		if err != nil {
			return "", conn.NodeError(owner, "RESTORE", err)
		}
		var del *redis.Cmd
		_, _ = hc.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Do(ctx, "ASKING")
			del = p.Eval(ctx, deleteIfUnchanged, []string{key}, payload)
			return nil
		})
		n, err := del.Int64()
		if err != nil {
			return "", conn.NodeError(holder, "EVAL (delete if unchanged)", err)
		}
		if n == 1 {
			return restored, nil
		}
		if err := askingDo(ctx, oc, "DEL", restored); err != nil {
			return "", conn.NodeError(owner, "DEL", err)
		}
	}
	return "", conn.NodeError(holder, "DUMP", fmt.Errorf("key %q kept changing while fix saved it", key))
}

// restoreFree restores payload under name, or name:1 ... name:9 when taken,
// and returns the name used.
func restoreFree(ctx context.Context, cl *redis.Client, name string, ttl time.Duration, payload string) (string, error) {
	for try := range 10 {
		candidate := name
		if try > 0 {
			candidate = fmt.Sprintf("%s:%d", name, try)
		}
		err := askingDo(ctx, cl, "RESTORE", candidate, ttl.Milliseconds(), payload)
		if err == nil {
			return candidate, nil
		}
		if !strings.Contains(err.Error(), "BUSYKEY") {
			return "", err
		}
	}
	return "", fmt.Errorf("%q and the next 9 names for a saved copy already exist", name)
}

func askingDo(ctx context.Context, cl *redis.Client, args ...any) error {
	var cmd *redis.Cmd
	_, _ = cl.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Do(ctx, "ASKING")
		cmd = p.Do(ctx, args...)
		return nil
	})
	return cmd.Err()
}

// savedKeyName names the saved copy of key: the key's name and tag, in the
// key's slot so that the slot's owner holds it. A key with a hash tag keeps
// its slot with any suffix, one without is wrapped in braces, and the rare
// rest (a '}' and no tag) gets a counter that lands in the slot.
func savedKeyName(key, tag string) (string, error) {
	slot := slots.KeySlot([]byte(key))
	for _, name := range []string{key + ":" + tag, "{" + key + "}:" + tag} {
		if slots.KeySlot([]byte(name)) == slot {
			return name, nil
		}
	}
	for i := range 1 << 20 {
		name := fmt.Sprintf("%s:%s:%d", key, tag, i)
		if slots.KeySlot([]byte(name)) == slot {
			return name, nil
		}
	}
	return "", errors.New("no name in slot " + fmt.Sprint(slot) + " found for the copy of " + key)
}

func reportSaved(rep Reporter, saved []SavedConflict) {
	for _, s := range saved {
		rep.Report(Event{Kind: EventWarning, Slot: s.Slot, Node: s.From, Target: s.Kept,
			Message: fmt.Sprintf("Slot %d: key %q differed on %s and %s: kept %s's copy, saved %s's as %q",
				s.Slot, s.Key, s.Kept, s.From, s.Kept, s.From, s.SavedAs)})
	}
}
