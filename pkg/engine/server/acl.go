package server

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// aclUsers is the ACL: users with flags, passwords and the selectors of
// acl_selector.go, changed by ACL SETUSER/DELUSER/LOAD and requirepass.
type aclUsers struct {
	mu    sync.Mutex
	users map[string]*aclUser
	// pubsubAllChannels is acl-pubsub-default: do new selectors start
	// with allchannels?
	pubsubAllChannels func() bool
	log               aclLog
}

type aclUser struct {
	name      string
	enabled   bool // "on" (else "off")
	nopass    bool
	sanitize  string   // "", "sanitize-payload" or "skip-sanitize-payload"
	passwords []string // sha256 hex, in the order added
	selectors []*aclSelector
	// perms are the compiled selectors; connections authenticated as the
	// user read them on every command, so a change applies at once
	perms atomic.Pointer[aclPerms]
}

// permissions returns u's permissions (a deleted user's deny everything).
func (u *aclUser) permissions() *aclPerms {
	if u == nil {
		return allPerms
	}
	return u.perms.Load()
}

func newACL(requirepass string) *aclUsers {
	a := &aclUsers{users: map[string]*aclUser{}, pubsubAllChannels: func() bool { return false }}
	a.users["default"] = a.defaultUser()
	a.setDefaultPassword(requirepass)
	return a
}

// defaultUser is the default user as Redis creates it: on, nopass, +@all ~* &*.
func (a *aclUsers) defaultUser() *aclUser {
	u := a.newUser("default")
	for _, op := range []string{"+@all", "~*", "&*", "on", "nopass"} {
		u.apply(op, false)
	}
	u.perms.Store(permsOf(u.selectors))
	return u
}

// newUser is a new user as Redis creates it: off, no passwords, a root
// selector with no permissions (channels per acl-pubsub-default).
func (a *aclUsers) newUser(name string) *aclUser {
	return &aclUser{name: name, selectors: []*aclSelector{newSelector(a.pubsubAllChannels())}}
}

func hashPassword(p string) string {
	sum := sha256.Sum256([]byte(p))
	return hex.EncodeToString(sum[:])
}

// setDefaultPassword is what requirepass does: it replaces the default
// user's passwords (an empty one means nopass).
func (a *aclUsers) setDefaultPassword(p string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.users["default"]
	u.passwords = nil
	u.nopass = p == ""
	if p != "" {
		u.passwords = []string{hashPassword(p)}
	}
}

func (a *aclUsers) noPassDefault() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.users["default"]
	return u.enabled && u.nopass
}

func (a *aclUsers) check(user, pass string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[user]
	if !ok || !u.enabled {
		return false
	}
	if u.nopass {
		return true
	}
	h := hashPassword(pass)
	for _, p := range u.passwords {
		if p == h {
			return true
		}
	}
	return false
}

func (u *aclUser) clone() *aclUser {
	n := &aclUser{name: u.name, enabled: u.enabled, nopass: u.nopass, sanitize: u.sanitize,
		passwords: append([]string(nil), u.passwords...)}
	for _, s := range u.selectors {
		n.selectors = append(n.selectors, s.clone())
	}
	return n
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// apply is one ACL SETUSER rule on u (a staged copy); allChannels is
// acl-pubsub-default, where new selectors and "reset" start.
func (u *aclUser) apply(op string, allChannels bool) aclErr {
	if op == "" {
		return aclOK
	}
	switch lop := strings.ToLower(op); {
	case lop == "on":
		u.enabled = true
	case lop == "off":
		u.enabled = false
	case lop == "skip-sanitize-payload" || lop == "sanitize-payload":
		u.sanitize = lop
	case lop == "nopass":
		u.nopass, u.passwords = true, nil
	case lop == "resetpass":
		u.nopass, u.passwords = false, nil
	case op[0] == '>' || op[0] == '#':
		h, err := passwordRuleHash(op)
		if err != aclOK {
			return err
		}
		found := false
		for _, p := range u.passwords {
			found = found || p == h
		}
		if !found {
			u.passwords = append(u.passwords, h)
		}
		u.nopass = false
	case op[0] == '<' || op[0] == '!':
		h, err := passwordRuleHash(op)
		if err != aclOK {
			return err
		}
		i := indexOf(u.passwords, h)
		if i < 0 {
			return aclErrNoSuchPass
		}
		u.passwords = append(u.passwords[:i:i], u.passwords[i+1:]...)
	case op[0] == '(' && op[len(op)-1] == ')':
		s := newSelector(allChannels)
		for _, sop := range splitArgs(op[1 : len(op)-1]) {
			if err := s.apply(sop); err != aclOK {
				return err
			}
		}
		u.selectors = append(u.selectors, s)
	case lop == "clearselectors":
		u.selectors = u.selectors[:1]
	case lop == "reset":
		root := u.selectors[0]
		u.nopass, u.passwords, u.enabled, u.sanitize = false, nil, false, "sanitize-payload"
		root.allKeys, root.keys = false, nil
		root.allChannels, root.channels = allChannels, nil
		u.selectors = u.selectors[:1]
		root.setAll(false)
	default:
		return u.selectors[0].apply(op)
	}
	return aclOK
}

// passwordRuleHash is the hash a password rule names: ">pw" and "<pw"
// give the password, "#hash" and "!hash" its hash.
func passwordRuleHash(op string) (string, aclErr) {
	if op[0] == '>' || op[0] == '<' {
		return hashPassword(op[1:]), aclOK
	}
	if !validHash(op[1:]) {
		return "", aclErrBadHash
	}
	return op[1:], aclOK
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// splitArgs splits a selector's rules on spaces (Redis uses its
// quote-aware splitter; rules have no quotes in practice).
func splitArgs(s string) []string {
	return strings.Fields(s)
}

// mergeSelectorArgs joins "(" ... ")" arguments into one rule each; it
// returns the index of an unclosed "(" argument, else -1.
func mergeSelectorArgs(args []string) ([]string, int) {
	var out []string
	open := -1
	var cur string
	for j, op := range args {
		if open < 0 && strings.HasPrefix(op, "(") && !strings.HasSuffix(op, ")") {
			open, cur = j, op
			continue
		}
		if open >= 0 {
			cur += " " + op
			if strings.HasSuffix(op, ")") {
				out, open = append(out, cur), -1
			}
			continue
		}
		out = append(out, op)
	}
	if open >= 0 {
		return nil, open
	}
	return out, -1
}

// setUser applies ACL SETUSER rules all or nothing; it returns an error
// text or "", and for a changed user that lost channels, the user and the
// channel patterns it keeps (see killRevokedSubscribers).
func (a *aclUsers) setUser(name string, rules []string) (string, *aclUser, []string) {
	if hasSpaces(name) {
		return "ERR Usernames can't contain spaces or null characters", nil, nil
	}
	merged, bad := mergeSelectorArgs(rules)
	if bad >= 0 {
		return "ERR Unmatched parenthesis in acl selector starting at '" + rules[bad] + "'.", nil, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[name]
	var staged *aclUser
	if ok {
		staged = u.clone()
	} else {
		staged = a.newUser(name)
	}
	for _, r := range merged {
		if err := staged.apply(r, a.pubsubAllChannels()); err != aclOK {
			return "ERR Error in ACL SETUSER modifier '" + r + "': " + err.String(), nil, nil
		}
	}
	var kept []string
	if ok {
		kept = channelsRevoked(u.selectors, staged.selectors)
	} else {
		u = &aclUser{name: name}
		a.users[name] = u
	}
	u.install(staged)
	return "", u, kept
}

// install copies staged into u; the same *aclUser stays in place, so its
// connections see the change.
func (u *aclUser) install(staged *aclUser) {
	u.enabled, u.nopass, u.sanitize = staged.enabled, staged.nopass, staged.sanitize
	u.passwords, u.selectors = staged.passwords, staged.selectors
	u.perms.Store(permsOf(u.selectors))
}

// user returns the named user (nil when there is none).
func (a *aclUsers) user(name string) *aclUser {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.users[name]
}

// delUser removes a user (nil when there is none); its connections can
// run nothing more (and are closed, see killClientsOf).
func (a *aclUsers) delUser(name string) *aclUser {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[name]
	if !ok || name == "default" {
		return nil
	}
	u.perms.Store(denyAllPerms)
	delete(a.users, name)
	return u
}

func (a *aclUsers) names() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for n := range a.users {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// list renders every user the way ACL LIST does, in name order.
func (a *aclUsers) list() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	names := make([]string, 0, len(a.users))
	for n := range a.users {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		names[i] = "user " + n + " " + a.users[n].describe()
	}
	return names
}
