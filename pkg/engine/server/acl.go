package server

import (
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// aclUsers is the ACL: users with passwords, an on/off switch and the
// command, key and channel permissions of acl_perms.go.
type aclUsers struct {
	mu    sync.Mutex
	users map[string]*aclUser
}

type aclUser struct {
	enabled   bool
	nopass    bool
	passwords map[string]bool // sha256 hex
	rules     []string        // permission rules as given, for ACL LIST
	// perms are the compiled rules; connections authenticated as the user
	// read them on every command, so a change applies at once
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
	a := &aclUsers{users: map[string]*aclUser{}}
	defaultUser := &aclUser{enabled: true, passwords: map[string]bool{}, rules: []string{"~*", "&*", "+@all"}}
	defaultUser.perms.Store(allPerms)
	a.users["default"] = defaultUser
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
	nu := aclUser{enabled: u.enabled, nopass: u.nopass, passwords: map[string]bool{}}
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
			nu = aclUser{passwords: map[string]bool{}, rules: []string{"resetkeys", "resetchannels", "-@all"}}
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
	perms, msg := compilePerms(nu.rules)
	if msg != "" {
		return msg
	}
	// The same *aclUser stays in place, so its connections see the change.
	u.enabled, u.nopass, u.passwords, u.rules = nu.enabled, nu.nopass, nu.passwords, nu.rules
	u.perms.Store(perms)
	a.users[name] = u
	return ""
}

// user returns the named user (nil when there is none).
func (a *aclUsers) user(name string) *aclUser {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.users[name]
}

func (a *aclUsers) delUser(name string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[name]
	if !ok || name == "default" {
		return false
	}
	u.perms.Store(&aclPerms{commands: map[string]bool{}}) // its connections can do nothing more
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
	// keys, then channels, then commands, as Redis lists them
	var keys, channels, commands []string
	for _, r := range u.rules {
		lr := strings.ToLower(r)
		switch {
		case lr == "resetkeys":
			keys = nil
		case lr == "allkeys":
			keys = []string{"~*"}
		case strings.HasPrefix(r, "~") || strings.HasPrefix(r, "%"):
			keys = append(keys, r)
		case lr == "resetchannels":
			channels = nil
		case lr == "allchannels":
			channels = []string{"&*"}
		case strings.HasPrefix(r, "&"):
			channels = append(channels, r)
		case lr == "allcommands":
			commands = []string{"+@all"}
		case lr == "nocommands":
			commands = []string{"-@all"}
		default:
			commands = append(commands, r)
		}
	}
	if len(channels) == 0 {
		channels = []string{"resetchannels"}
	}
	if len(commands) == 0 || commands[0] != "+@all" && commands[0] != "-@all" {
		commands = append([]string{"-@all"}, commands...)
	}
	parts = append(append(append(parts, keys...), channels...), commands...)
	return strings.Join(parts, " ")
}
