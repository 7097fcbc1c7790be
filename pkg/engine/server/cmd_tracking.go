package server

import "strings"

// CLIENT TRACKING, CACHING, GETREDIR and TRACKINGINFO (see tracking.go).

// clientTrackingSubcommand serves the tracking subcommands of CLIENT; false
// when sub is none of them.
func (c *Client) clientTrackingSubcommand(sub string, args [][]byte) bool {
	switch {
	case sub == "tracking" && len(args) >= 3:
		db := c.srv.DB
		db.Mu.Lock()
		defer db.Mu.Unlock()
		c.clientTracking(args)
	case sub == "caching" && len(args) == 3:
		c.clientCaching(args[2])
	case sub == "getredir" && len(args) == 2:
		if c.track.flags.Load()&trackOn != 0 {
			c.w.WriteInt(c.track.redirect.Load())
		} else {
			c.w.WriteInt(-1)
		}
	case sub == "trackinginfo" && len(args) == 2:
		db := c.srv.DB
		db.Mu.Lock()
		defer db.Mu.Unlock()
		c.clientTrackingInfo()
	default:
		return false
	}
	return true
}

// clientTracking is CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST]
// [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP], store lock held. Options are
// parsed (and refused) first, then checked against each other and the
// client's current mode, in Redis's order.
func (c *Client) clientTracking(args [][]byte) {
	var redirect int64
	var opts uint32
	var prefixes []string
	for j := 3; j < len(args); j++ {
		more := j < len(args)-1
		switch {
		case eq(args[j], "redirect") && more:
			j++
			if redirect != 0 {
				c.w.WriteError("ERR A client can only redirect to a single other client")
				return
			}
			id, ok := parseInt(args[j])
			if !ok {
				c.w.WriteError(errNotInt)
				return
			}
			redirect = id
			if c.srv.liveClient(id) == nil {
				c.w.WriteError("ERR The client ID you want redirect to does not exist")
				return
			}
		case eq(args[j], "bcast"):
			opts |= trackBcast
		case eq(args[j], "optin"):
			opts |= trackOptin
		case eq(args[j], "optout"):
			opts |= trackOptout
		case eq(args[j], "noloop"):
			opts |= trackNoloop
		case eq(args[j], "prefix") && more:
			j++
			prefixes = append(prefixes, string(args[j]))
		default:
			c.w.WriteError(errSyntax)
			return
		}
	}
	switch {
	case eq(args[2], "on"):
		if msg := c.trackingOptionsRefused(opts, prefixes); msg != "" {
			c.w.WriteError(msg)
			return
		}
		if opts&trackBcast != 0 && !c.checkPrefixOverlaps(prefixes) {
			return
		}
		c.srv.enableTracking(c, redirect, opts, prefixes)
	case eq(args[2], "off"):
		c.srv.disableTracking(c)
	default:
		c.w.WriteError(errSyntax)
		return
	}
	c.w.WriteRaw(okReply)
}

// trackingOptionsRefused checks CLIENT TRACKING ON's options against each
// other and against the mode the client is in.
func (c *Client) trackingOptionsRefused(opts uint32, prefixes []string) string {
	cur := c.track.flags.Load()
	switch {
	case opts&trackBcast == 0 && len(prefixes) > 0:
		return "ERR PREFIX option requires BCAST mode to be enabled"
	case cur&trackOn != 0 && cur&trackBcast != opts&trackBcast:
		return "ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."
	case opts&trackBcast != 0 && opts&(trackOptin|trackOptout) != 0:
		return "ERR OPTIN and OPTOUT are not compatible with BCAST"
	case opts&trackOptin != 0 && opts&trackOptout != 0:
		return "ERR You can't specify both OPTIN mode and OPTOUT mode"
	case opts&trackOptin != 0 && cur&trackOptout != 0 || opts&trackOptout != 0 && cur&trackOptin != 0:
		return "ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."
	}
	return ""
}

// checkPrefixOverlaps refuses BCAST prefixes of which one starts another,
// among the new ones or against the client's. It reports whether tracking
// is to be enabled: like Redis 7.0, an overlap between two new prefixes
// found past the first one answers the error and then enables tracking
// anyway (and answers OK too).
func (c *Client) checkPrefixOverlaps(prefixes []string) bool {
	overlap := func(a, b string) bool { return strings.HasPrefix(a, b) || strings.HasPrefix(b, a) }
	for i, p := range prefixes {
		for _, have := range c.track.prefixes {
			if overlap(p, have) {
				c.w.WriteError("ERR Prefix '" + errorText(p) + "' overlaps with an existing prefix '" + errorText(have) + "'. Prefixes for a single client must not overlap.")
				return false
			}
		}
		for _, other := range prefixes[i+1:] {
			if overlap(p, other) {
				c.w.WriteError("ERR Prefix '" + errorText(p) + "' overlaps with another provided prefix '" + errorText(other) + "'. Prefixes for a single client must not overlap.")
				return i > 0
			}
		}
	}
	return true
}

// errorText is how Redis prints a client string in an error: up to a NUL
// byte (a C string), with line breaks made spaces.
func errorText(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}

// clientCaching is CLIENT CACHING YES|NO: track (OPTIN) or not (OPTOUT) the
// keys of the next command or transaction.
func (c *Client) clientCaching(arg []byte) {
	f := c.track.flags.Load()
	if f&trackOn == 0 {
		c.w.WriteError("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled")
		return
	}
	switch {
	case eq(arg, "yes"):
		if f&trackOptin == 0 {
			c.w.WriteError("ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.")
			return
		}
	case eq(arg, "no"):
		if f&trackOptout == 0 {
			c.w.WriteError("ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.")
			return
		}
	default:
		c.w.WriteError(errSyntax)
		return
	}
	c.track.flags.Or(trackCaching)
	c.w.WriteRaw(okReply)
}

// trackingInfoFlags are CLIENT TRACKINGINFO's flag names in Redis's order;
// caching names what CLIENT CACHING said in that mode.
var trackingInfoFlags = []struct {
	bit           uint32
	name, caching string
}{
	{trackBcast, "bcast", ""},
	{trackOptin, "optin", "caching-yes"},
	{trackOptout, "optout", "caching-no"},
	{trackNoloop, "noloop", ""},
	{trackBrokenRedir, "broken_redirect", ""},
}

// clientTrackingInfo is CLIENT TRACKINGINFO, store lock held.
func (c *Client) clientTrackingInfo() {
	f := c.track.flags.Load()
	flags := []string{"off"}
	if f&trackOn != 0 {
		flags[0] = "on"
	}
	for _, m := range trackingInfoFlags {
		if f&m.bit != 0 {
			flags = append(flags, m.name)
			if m.caching != "" && f&trackCaching != 0 {
				flags = append(flags, m.caching)
			}
		}
	}
	c.w.WriteMapLen(3)
	c.w.WriteBulkString("flags")
	c.w.WriteSetLen(len(flags))
	for _, fl := range flags {
		c.w.WriteBulkString(fl)
	}
	c.w.WriteBulkString("redirect")
	if f&trackOn != 0 {
		c.w.WriteInt(c.track.redirect.Load())
	} else {
		c.w.WriteInt(-1)
	}
	c.w.WriteBulkString("prefixes")
	c.w.WriteArrayLen(len(c.track.prefixes))
	for _, p := range c.track.prefixes {
		c.w.WriteBulkString(p)
	}
}

// trackingListFlags are CLIENT LIST's tracking flags (t, R, B) and redir.
func (c *Client) trackingListFlags() (flags string, redir int64) {
	f := c.track.flags.Load()
	if f&trackOn == 0 {
		return "", -1
	}
	var b strings.Builder
	b.WriteByte('t')
	if f&trackBrokenRedir != 0 {
		b.WriteByte('R')
	}
	if f&trackBcast != 0 {
		b.WriteByte('B')
	}
	return b.String(), c.track.redirect.Load()
}
