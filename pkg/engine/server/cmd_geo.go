package server

import (
	"github.com/gocluster/gocluster/pkg/engine/geo"
	"github.com/gocluster/gocluster/pkg/engine/store"
)

// The GEO commands. A geo set is a sorted set whose scores are 52-bit
// geohashes (package geo); every check, and the order of the checks, is
// redis-server 7.0's, so errors come out the same for the same input.

func init() {
	def("geoadd", -5, "write denyoom", 1, 1, 1, cmdGeoAdd)
	def("geodist", -4, "readonly", 1, 1, 1, cmdGeoDist)
	def("geohash", -2, "readonly", 1, 1, 1, cmdGeoHash)
	def("geopos", -2, "readonly", 1, 1, 1, cmdGeoPos)
	// GEORADIUS and GEORADIUSBYMEMBER are writes even without STORE, so a
	// read-only replica refuses them as redis-server does.
	def("georadius", -6, "write denyoom movablekeys", 1, 1, 1, cmdGeoRadius).movable = geoRadiusKeys
	def("georadiusbymember", -5, "write denyoom movablekeys", 1, 1, 1, cmdGeoRadiusByMember).movable = geoRadiusKeys
	def("georadius_ro", -6, "readonly", 1, 1, 1, cmdGeoRadiusRO)
	def("georadiusbymember_ro", -5, "readonly", 1, 1, 1, cmdGeoRadiusByMemberRO)
	def("geosearch", -7, "readonly", 1, 1, 1, cmdGeoSearch)
	def("geosearchstore", -8, "write denyoom", 1, 2, 1, cmdGeoSearchStore)
}

// geoRadiusKeys: the source key, and the last STORE/STOREDIST key. Like
// Redis's georadiusGetKeys it looks from argument 5 on, for both commands.
func geoRadiusKeys(args [][]byte) []int {
	keys := []int{1}
	stored := -1
	for i := 5; i < len(args); i++ {
		if (eq(args[i], "store") || eq(args[i], "storedist")) && i+1 < len(args) {
			stored = i + 1
			i++
		}
	}
	if stored > 0 {
		keys = append(keys, stored)
	}
	return keys
}

const (
	errGeoMember = "ERR could not decode requested zset member"
	errGeoUnit   = "ERR unsupported unit provided. please use M, KM, FT, MI"
)

// geoPoint parses a longitude and a latitude within the stored ranges.
func (c *Client) geoPoint(lonArg, latArg []byte) (lon, lat float64, ok bool) {
	if lon, ok = parseDouble(lonArg); !ok {
		c.w.WriteError(errNotFloat)
		return 0, 0, false
	}
	if lat, ok = parseDouble(latArg); !ok {
		c.w.WriteError(errNotFloat)
		return 0, 0, false
	}
	if lon < geo.LonMin || lon > geo.LonMax || lat < geo.LatMin || lat > geo.LatMax {
		c.w.WriteError("ERR invalid longitude,latitude pair " + geo.FormatFixed6(lon) + "," + geo.FormatFixed6(lat))
		return 0, 0, false
	}
	return lon, lat, true
}

// geoUnit is a unit's size in meters.
func (c *Client) geoUnit(b []byte) (float64, bool) {
	switch {
	case eq(b, "m"):
		return 1, true
	case eq(b, "km"):
		return 1000, true
	case eq(b, "ft"):
		return 0.3048, true
	case eq(b, "mi"):
		return 1609.34, true
	}
	c.w.WriteError(errGeoUnit)
	return 0, false
}

// geoSize parses a size; what names it in the error ("radius", "width",
// "height"). The callers check the sign, after all of their numbers.
func (c *Client) geoSize(b []byte, what string) (float64, bool) {
	v, ok := parseDouble(b)
	if !ok {
		c.w.WriteError("ERR need numeric " + what)
		return 0, false
	}
	return v, true
}

// geoRadius parses "<radius> <unit>".
func (c *Client) geoRadius(args [][]byte, shape *geo.Shape) bool {
	r, ok := c.geoSize(args[0], "radius")
	if !ok {
		return false
	}
	if r < 0 {
		c.w.WriteError("ERR radius cannot be negative")
		return false
	}
	conv, ok := c.geoUnit(args[1])
	if !ok {
		return false
	}
	shape.Radius, shape.Conversion, shape.Box = r, conv, false
	return true
}

// geoBox parses "<width> <height> <unit>".
func (c *Client) geoBox(args [][]byte, shape *geo.Shape) bool {
	w, ok := c.geoSize(args[0], "width")
	if !ok {
		return false
	}
	h, ok := c.geoSize(args[1], "height")
	if !ok {
		return false
	}
	if h < 0 || w < 0 {
		c.w.WriteError("ERR height or width cannot be negative")
		return false
	}
	conv, ok := c.geoUnit(args[2])
	if !ok {
		return false
	}
	shape.Width, shape.Height, shape.Conversion, shape.Box = w, h, conv, true
	return true
}

// geoSet looks a geo set up for reading: nil when missing, ok false (and
// WRONGTYPE answered) when the key holds something else.
func (c *Client) geoSet(key []byte) (*store.ZSet, bool) {
	return c.zset(key, false)
}

// cmdGeoAdd: GEOADD key [NX|XX] [CH] lon lat member [...], which Redis
// runs as a ZADD of the members' geohash scores.
func cmdGeoAdd(c *Client, args [][]byte) {
	var nx, xx, ch bool
	i := 2
	for ; i < len(args); i++ {
		if eq(args[i], "nx") {
			nx = true
		} else if eq(args[i], "xx") {
			xx = true
		} else if eq(args[i], "ch") {
			ch = true
		} else {
			break
		}
	}
	rest := args[i:]
	if len(rest)%3 != 0 || nx && xx {
		c.w.WriteError(errSyntax)
		return
	}
	scores := make([]float64, len(rest)/3)
	for j := range scores {
		lon, lat, ok := c.geoPoint(rest[3*j], rest[3*j+1])
		if !ok {
			return
		}
		scores[j], _ = geo.Score(lon, lat)
	}
	if len(scores) == 0 { // ZADD's own check on the rewritten command
		c.w.WriteError(errSyntax)
		return
	}
	z, ok := c.zset(args[1], !xx)
	if !ok {
		return
	}
	added, updated := 0, 0
	if z != nil {
		for j, score := range scores {
			member := rest[3*j+2]
			old, exists := z.Score(member)
			if exists && nx || !exists && xx {
				continue
			}
			if z.Add(member, score, c.srv.DB.Limits()) {
				added++
			} else if exists && old != score {
				updated++
			}
		}
		c.srv.DB.DeleteIfEmpty(args[1])
	}
	// Redis announces "zadd" for any change; a reply without CH counts only
	// the additions, so the handler says it itself.
	c.keyChanged = added+updated > 0
	if ch {
		c.w.WriteInt(int64(added + updated))
	} else {
		c.w.WriteInt(int64(added))
	}
}

// cmdGeoDist: GEODIST key member1 member2 [unit].
func cmdGeoDist(c *Client, args [][]byte) {
	toMeters := 1.0
	if len(args) == 5 {
		var ok bool
		if toMeters, ok = c.geoUnit(args[4]); !ok {
			return
		}
	} else if len(args) > 5 {
		c.w.WriteError(errSyntax)
		return
	}
	z, ok := c.geoSet(args[1])
	if !ok {
		return
	}
	if z == nil {
		c.w.WriteNull()
		return
	}
	s1, ok1 := z.Score(args[2])
	s2, ok2 := z.Score(args[3])
	if !ok1 || !ok2 {
		c.w.WriteNull()
		return
	}
	lon1, lat1 := geo.Decode(s1)
	lon2, lat2 := geo.Decode(s2)
	c.w.WriteBulkString(geo.FormatDistance(geo.Distance(lon1, lat1, lon2, lat2) / toMeters))
}

// cmdGeoHash: GEOHASH key member [...], the standard 11-character hashes.
func cmdGeoHash(c *Client, args [][]byte) {
	z, ok := c.geoSet(args[1])
	if !ok {
		return
	}
	c.w.WriteArrayLen(len(args) - 2)
	for _, m := range args[2:] {
		if z == nil {
			c.w.WriteNull()
		} else if s, found := z.Score(m); found {
			c.w.WriteBulkString(geo.Hash(s))
		} else {
			c.w.WriteNull()
		}
	}
}

// cmdGeoPos: GEOPOS key member [...].
func cmdGeoPos(c *Client, args [][]byte) {
	z, ok := c.geoSet(args[1])
	if !ok {
		return
	}
	c.w.WriteArrayLen(len(args) - 2)
	for _, m := range args[2:] {
		s, found := 0.0, false
		if z != nil {
			s, found = z.Score(m)
		}
		if !found {
			c.w.WriteNullArray()
			continue
		}
		lon, lat := geo.Decode(s)
		c.w.WriteArrayLen(2)
		c.writeCoord(lon)
		c.writeCoord(lat)
	}
}

// writeCoord writes a coordinate as Redis's addReplyHumanLongDouble: a
// bulk string in RESP2, a double in RESP3, in the same digits.
func (c *Client) writeCoord(v float64) {
	s := geo.FormatCoord(v)
	if c.w.Proto() == 3 {
		c.w.WriteRaw([]byte("," + s + "\r\n"))
		return
	}
	c.w.WriteBulkString(s)
}
