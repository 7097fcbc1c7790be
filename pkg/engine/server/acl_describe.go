package server

import (
	"strings"
	"sync"
)

// How ACL LIST, ACL SAVE and ACL GETUSER describe a user: Redis 7.0
// regenerates the rules from the permissions rather than keeping them as
// given, so this follows its method to reach the same text.

func (u *aclUser) flagNames() []string {
	var out []string
	if u.enabled {
		out = append(out, "on")
	} else {
		out = append(out, "off")
	}
	if u.nopass {
		out = append(out, "nopass")
	}
	if u.sanitize != "" {
		out = append(out, u.sanitize)
	}
	return out
}

// describe is the user's rules after "user <name> ".
func (u *aclUser) describe() string {
	parts := u.flagNames()
	for _, p := range u.passwords {
		parts = append(parts, "#"+p)
	}
	out := strings.Join(parts, " ") + " " + u.selectors[0].describe()
	for _, s := range u.selectors[1:] {
		out += " (" + s.describe() + ")"
	}
	return out
}

func (k keyPerm) String() string {
	switch {
	case k.read && k.write:
		return "~" + string(k.pattern)
	case k.read:
		return "%R~" + string(k.pattern)
	}
	return "%W~" + string(k.pattern)
}

func (s *aclSelector) keysText() string {
	if s.allKeys {
		return "~*"
	}
	parts := make([]string, len(s.keys))
	for i, k := range s.keys {
		parts[i] = k.String()
	}
	return strings.Join(parts, " ")
}

func (s *aclSelector) channelsText() string {
	if s.allChannels {
		return "&*"
	}
	parts := make([]string, len(s.channels))
	for i, c := range s.channels {
		parts[i] = "&" + c
	}
	return strings.Join(parts, " ")
}

func (s *aclSelector) describe() string {
	var b strings.Builder
	if s.allKeys {
		b.WriteString("~* ")
	} else {
		for _, k := range s.keys {
			b.WriteString(k.String() + " ")
		}
	}
	if s.allChannels {
		b.WriteString("&* ")
	} else {
		b.WriteString("resetchannels ")
		for _, c := range s.channels {
			b.WriteString("&" + c + " ")
		}
	}
	b.WriteString(s.describeCommands())
	return b.String()
}

// describedTree is Redis's commands, the ones descriptions name: the
// engine's own test commands follow the categories but are left out, so
// that a user reads as it does on redis-server.
var describedTree = sync.OnceValue(func() aclCommandTree {
	t := aclCommandTree{subs: aclTree().subs}
	for _, p := range aclTree().parents {
		if _, ok := redisACLCategories[p]; ok {
			t.parents = append(t.parents, p)
		}
	}
	return t
})

// categoryCounts is how many of cat's commands s allows and denies.
func (s *aclSelector) categoryCounts(cat string) (on, off int) {
	for name := range redisACLCategories {
		if inCategory(name, cat) {
			if s.commands[name] {
				on++
			} else {
				off++
			}
		}
	}
	return on, off
}

// describeCommands finds rules that rebuild s's commands: +@all or -@all,
// then the categories that fit best (each applied to a working copy so
// the next choice sees what is left), then single commands for the rest.
func (s *aclSelector) describeCommands() string {
	additive := !s.future
	rules := []string{"+@all"}
	fake := newSelector(false)
	if additive {
		rules[0] = "-@all"
	}
	fake.apply(rules[0])
	temp := newSelector(false)
	for k, v := range s.commands {
		temp.commands[k] = v
	}
	applied := map[string]bool{}
	for {
		best, minDiff, maxSame := "", int(^uint(0)>>1), 0
		for _, cat := range aclCategoryNames {
			if applied[cat] {
				continue
			}
			on, off := temp.categoryCounts(cat)
			diff, same := off, on
			if !additive {
				diff, same = on, off
			}
			if same > diff && (diff < minDiff || diff == minDiff && same > maxSame) {
				best, minDiff, maxSame = cat, diff, same
			}
		}
		if best == "" {
			break
		}
		fake.setCategory(best, additive)
		temp.setCategory(best, !additive)
		if additive {
			rules = append(rules, "+@"+best)
		} else {
			rules = append(rules, "-@"+best)
		}
		applied[best] = true
	}
	t := describedTree()
	single := func(name string) {
		if user := s.commands[name]; user != fake.commands[name] {
			sign := "-"
			if user {
				sign = "+"
			}
			rules = append(rules, sign+name)
			fake.changePerm(name, user)
		}
	}
	for _, p := range t.parents {
		single(p)
		for _, sub := range t.subs[p] {
			single(sub)
		}
		if !s.commands[p] {
			for _, a := range s.firstArgs[p] {
				rules = append(rules, "+"+p+"|"+a)
			}
		}
	}
	return strings.Join(rules, " ")
}

// writeGetUser is ACL GETUSER's reply.
func (c *Client) writeGetUser(u *aclUser) {
	c.w.WriteMapLen(6)
	c.w.WriteBulkString("flags")
	flags := u.flagNames()
	c.w.WriteSetLen(len(flags))
	for _, f := range flags {
		c.w.WriteBulkString(f)
	}
	c.w.WriteBulkString("passwords")
	c.w.WriteArrayLen(len(u.passwords))
	for _, p := range u.passwords {
		c.w.WriteBulkString(p)
	}
	c.writeSelectorFields(u.selectors[0])
	c.w.WriteBulkString("selectors")
	c.w.WriteArrayLen(len(u.selectors) - 1)
	for _, s := range u.selectors[1:] {
		c.w.WriteMapLen(3)
		c.writeSelectorFields(s)
	}
}

func (c *Client) writeSelectorFields(s *aclSelector) {
	c.w.WriteBulkString("commands")
	c.w.WriteBulkString(s.describeCommands())
	c.w.WriteBulkString("keys")
	c.w.WriteBulkString(s.keysText())
	c.w.WriteBulkString("channels")
	c.w.WriteBulkString(s.channelsText())
}
