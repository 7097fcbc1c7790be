package server

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The aclfile: one "user <name> <rules>" line per user, as Redis writes
// it. ACL LOAD replaces every user (the default user keeps its identity,
// so its connections follow the new rules) or, on any error, none.

func (s *Server) aclFilePath() string {
	name := s.Cfg.Get("aclfile")
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(s.Cfg.Dir(), name) // Redis opens it from its dir
}

// LoadACLFile creates the users of the config's "user" directives, or
// loads the configured aclfile, at startup; both at once is refused, as
// redis-server refuses it.
func (s *Server) LoadACLFile() error {
	users := s.Cfg.Users()
	if s.Cfg.Get("aclfile") != "" && len(users) > 0 {
		return errors.New("users are defined both in the config file (user directives) and in an aclfile: use one or the other")
	}
	if len(users) > 0 {
		return s.acl.loadConfigUsers(users)
	}
	if s.Cfg.Get("aclfile") == "" {
		return nil
	}
	if _, msg := s.loadACLFile(); msg != "" {
		return errors.New(msg)
	}
	return nil
}

// loadACLFile is ACL LOAD; it returns the users it replaced (whose
// connections Redis closes), or Redis's error text.
func (s *Server) loadACLFile() ([]*aclUser, string) {
	fileName := s.Cfg.Get("aclfile")
	data, err := os.ReadFile(s.aclFilePath())
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Sprintf("Error loading ACLs, opening file '%s': %s", fileName, errnoText(err))
	}
	a := s.acl
	users := map[string]*aclUser{}
	var errs strings.Builder
	allChannels := a.pubsubAllChannels()
	for i, line := range strings.Split(string(data), "\n") {
		lineNum := i + 1
		line = strings.Trim(line, " \t\r\n")
		if line == "" {
			continue
		}
		argv := strings.Split(line, " ")
		if argv[0] != "user" || len(argv) < 2 {
			fmt.Fprintf(&errs, "%s:%d should start with user keyword followed by the username. ", fileName, lineNum)
			continue
		}
		if hasSpaces(argv[1]) {
			fmt.Fprintf(&errs, "'%s:%d: username '%s' contains invalid characters. ", fileName, lineNum, argv[1])
			continue
		}
		if users[argv[1]] != nil {
			fmt.Fprintf(&errs, "WARNING: Duplicate user '%s' found on line %d. ", argv[1], lineNum)
			continue
		}
		u := a.newUser(argv[1])
		users[argv[1]] = u
		rules, bad := mergeSelectorArgs(argv[2:])
		if bad >= 0 {
			fmt.Fprintf(&errs, "%s:%d: Unmatched parenthesis in selector definition.", fileName, lineNum)
		}
		syntaxErr := false
		for _, r := range rules {
			r = strings.Trim(r, "\t\r\n")
			switch err := u.apply(r, allChannels); {
			case err == aclErrUnknown:
				fmt.Fprintf(&errs, "%s:%d: Error in applying operation '%s': %s. ", fileName, lineNum, r, err)
			case err != aclOK && !syntaxErr:
				fmt.Fprintf(&errs, "%s:%d: %s. ", fileName, lineNum, err)
				syntaxErr = true
			}
		}
	}
	if errs.Len() > 0 {
		return nil, errs.String() + "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	def := users["default"]
	if def == nil {
		def = a.defaultUser()
	}
	a.users["default"].install(def)
	var gone []*aclUser
	for name, u := range a.users {
		if name != "default" {
			u.perms.Store(denyAllPerms)
			gone = append(gone, u)
		}
	}
	next := map[string]*aclUser{"default": a.users["default"]}
	for name, u := range users {
		if name != "default" {
			u.perms.Store(permsOf(u.selectors))
			next[name] = u
		}
	}
	a.users = next
	return gone, ""
}

// errnoText is strerror's text for the usual open failures.
func errnoText(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, os.ErrPermission):
		return "Permission denied"
	}
	return err.Error()
}

// saveACLFile is ACL SAVE: the users as ACL LIST shows them, written to a
// temporary file renamed over the aclfile.
func (s *Server) saveACLFile() error {
	var b strings.Builder
	for _, line := range s.acl.list() {
		b.WriteString(line + "\n")
	}
	path := s.aclFilePath()
	tmp := path + ".tmp-" + strconv.Itoa(os.Getpid())
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// loadConfigUsers creates the users of "user" directives: the default
// user is reset first, another name may appear once.
func (a *aclUsers) loadConfigUsers(lines [][]string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	seen := map[string]bool{}
	for _, words := range lines {
		name := words[0]
		if hasSpaces(name) {
			return errors.New("Spaces not allowed in ACL usernames")
		}
		if seen[name] {
			return fmt.Errorf("Error in user declaration '%s': %s", name, aclErrDuplicateUser)
		}
		seen[name] = true
		rules, bad := mergeSelectorArgs(words[1:])
		if bad >= 0 {
			return fmt.Errorf("Unmatched parenthesis in acl selector starting at '%s'", words[1+bad])
		}
		staged := a.newUser(name)
		if name == "default" {
			staged = a.users["default"].clone()
			staged.apply("reset", a.pubsubAllChannels())
		}
		for _, r := range rules {
			if err := staged.apply(r, a.pubsubAllChannels()); err != aclOK {
				return fmt.Errorf("Error loading ACL rule '%s' for the user named '%s': %s", r, name, err)
			}
		}
		u := a.users[name]
		if u == nil {
			u = &aclUser{name: name}
			a.users[name] = u
		}
		u.install(staged)
	}
	return nil
}

// aclUserLines are the "user" lines CONFIG REWRITE writes: every user
// (as ACL LIST shows it), or none when an aclfile keeps them.
func (s *Server) aclUserLines() []string {
	if s.Cfg.Get("aclfile") != "" {
		return []string{}
	}
	return s.acl.list()
}
