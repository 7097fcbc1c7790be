package server

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"sync"
)

// aclUsers is a small ACL: users with passwords and an on/off switch. Key
// and command permission rules are stored and listed but every enabled user
// may run every command on every key (the engine is a test/dev node).
type aclUsers struct {
	mu    sync.Mutex
	users map[string]*aclUser
}

type aclUser struct {
	enabled   bool
	nopass    bool
	passwords map[string]bool // sha256 hex
	rules     []string        // permission rules as given, for ACL LIST
}

func newACL(requirepass string) *aclUsers {
	a := &aclUsers{users: map[string]*aclUser{}}
	a.users["default"] = &aclUser{enabled: true, passwords: map[string]bool{}, rules: []string{"~*", "&*", "+@all"}}
	a.setDefaultPassword(requirepass)
	return a
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
	u.passwords = map[string]bool{}
	u.nopass = p == ""
	if p != "" {
		u.passwords[hashPassword(p)] = true
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
	return ok && u.enabled && (u.nopass || u.passwords[hashPassword(pass)])
}

// setUser applies ACL SETUSER rules; it returns an error text or "".
func (a *aclUsers) setUser(name string, rules []string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[name]
	if !ok {
		u = &aclUser{passwords: map[string]bool{}}
	}
	nu := *u
	nu.passwords = map[string]bool{}
	for k := range u.passwords {
		nu.passwords[k] = true
	}
	nu.rules = append([]string(nil), u.rules...)
	for _, r := range rules {
		lr := strings.ToLower(r)
		switch {
		case lr == "on":
			nu.enabled = true
		case lr == "off":
			nu.enabled = false
		case lr == "nopass":
			nu.nopass, nu.passwords = true, map[string]bool{}
		case lr == "resetpass":
			nu.nopass, nu.passwords = false, map[string]bool{}
		case lr == "reset":
			nu = aclUser{passwords: map[string]bool{}}
		case strings.HasPrefix(r, ">"):
			nu.passwords[hashPassword(r[1:])] = true
			nu.nopass = false
		case strings.HasPrefix(r, "<"):
			delete(nu.passwords, hashPassword(r[1:]))
		case strings.HasPrefix(r, "#") && len(r) == 65:
			nu.passwords[strings.ToLower(r[1:])] = true
			nu.nopass = false
		case lr == "allkeys" || lr == "allchannels" || lr == "allcommands" || lr == "nocommands" ||
			lr == "resetkeys" || lr == "resetchannels" || strings.HasPrefix(r, "~") || strings.HasPrefix(r, "%") ||
			strings.HasPrefix(r, "&") || strings.HasPrefix(r, "+") || strings.HasPrefix(r, "-"):
			nu.rules = append(nu.rules, r)
		default:
			return "ERR Error in ACL SETUSER modifier '" + r + "': Syntax error"
		}
	}
	a.users[name] = &nu
	return ""
}

func (a *aclUsers) delUser(name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.users[name]; !ok || name == "default" {
		return false
	}
	delete(a.users, name)
	return true
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

// describe renders a user the way ACL LIST does.
func (a *aclUsers) describe(name string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	u := a.users[name]
	parts := []string{"user", name}
	if u.enabled {
		parts = append(parts, "on")
	} else {
		parts = append(parts, "off")
	}
	if u.nopass {
		parts = append(parts, "nopass")
	}
	var hashes []string
	for h := range u.passwords {
		hashes = append(hashes, "#"+h)
	}
	sort.Strings(hashes)
	parts = append(parts, hashes...)
	if len(u.rules) == 0 {
		parts = append(parts, "resetchannels", "-@all")
	}
	parts = append(parts, u.rules...)
	return strings.Join(parts, " ")
}
