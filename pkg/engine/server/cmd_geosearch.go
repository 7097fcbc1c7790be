package server

import (
	"github.com/gocluster/gocluster/pkg/engine/geo"
)

// geoVariant says which of the six search commands runs (Redis's
// georadiusGeneric flags).
type geoVariant struct {
	aroundPoint  bool // GEORADIUS[_RO]: lon lat radius unit
	aroundMember bool // GEORADIUSBYMEMBER[_RO]: member radius unit
	noStore      bool // the _RO variants refuse STORE and STOREDIST
	search       bool // GEOSEARCH and GEOSEARCHSTORE: FROM... and BY... options
	searchStore  bool // GEOSEARCHSTORE: the destination comes first
}

func cmdGeoRadius(c *Client, args [][]byte) {
	c.geoSearch(args, geoVariant{aroundPoint: true})
}

func cmdGeoRadiusByMember(c *Client, args [][]byte) {
	c.geoSearch(args, geoVariant{aroundMember: true})
}

func cmdGeoRadiusRO(c *Client, args [][]byte) {
	c.geoSearch(args, geoVariant{aroundPoint: true, noStore: true})
}

func cmdGeoRadiusByMemberRO(c *Client, args [][]byte) {
	c.geoSearch(args, geoVariant{aroundMember: true, noStore: true})
}

func cmdGeoSearch(c *Client, args [][]byte) {
	c.geoSearch(args, geoVariant{search: true})
}

func cmdGeoSearchStore(c *Client, args [][]byte) {
	c.geoSearch(args, geoVariant{search: true, searchStore: true})
}

// geoQuery is a parsed search request.
type geoQuery struct {
	shape                         geo.Shape
	storeKey                      []byte
	storeDist                     bool
	withDist, withHash, withCoord bool
	any                           bool
	sort                          int // 0 none, 1 ascending, 2 descending
	count                         int64
	fromMember, fromLonLat        bool
	byRadius, byBox               bool
}

const (
	geoSortNone = iota
	geoSortAsc
	geoSortDesc
)

// geoSearch is the six search commands. Checks run in Redis's order: the
// source key's type, the center and radius of the GEORADIUS forms, the
// options left to right, then the combinations.
func (c *Client) geoSearch(args [][]byte, v geoVariant) {
	src := 1
	if v.searchStore {
		src = 2
	}
	z, ok := c.geoSet(args[src])
	if !ok {
		return
	}
	var q geoQuery
	base := 2
	switch {
	case v.aroundPoint:
		base = 6
		if q.shape.Lon, q.shape.Lat, ok = c.geoPoint(args[2], args[3]); !ok {
			return
		}
		if !c.geoRadius(args[4:6], &q.shape) {
			return
		}
	case v.aroundMember && z == nil:
		// no set: the options are still parsed, for the reply's shape
		base = 5
	case v.aroundMember:
		base = 5
		score, found := z.Score(args[2])
		if !found {
			c.w.WriteError(errGeoMember)
			return
		}
		q.shape.Lon, q.shape.Lat = geo.Decode(score)
		if !c.geoRadius(args[3:5], &q.shape) {
			return
		}
	case v.searchStore:
		base = 3
		q.storeKey = args[1]
	}
	if !c.geoOptions(args[base:], v, z != nil, &q, func(m []byte) (float64, bool) { return z.Score(m) }) {
		return
	}

	switch {
	case q.storeKey != nil && (q.withDist || q.withHash || q.withCoord):
		what := "STORE option in GEORADIUS"
		if v.searchStore {
			what = "GEOSEARCHSTORE"
		}
		c.w.WriteError("ERR " + what + " is not compatible with WITHDIST, WITHHASH and WITHCOORD options")
		return
	case v.search && !q.fromMember && !q.fromLonLat:
		c.w.WriteError("ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for " + printable(args[0], 128))
		return
	case v.search && !q.byRadius && !q.byBox:
		c.w.WriteError("ERR exactly one of BYRADIUS and BYBOX can be specified for " + printable(args[0], 128))
		return
	case q.any && q.count == 0:
		c.w.WriteError("ERR the ANY argument requires COUNT argument")
		return
	}

	if z == nil {
		if q.storeKey != nil {
			c.srv.DB.Delete(q.storeKey)
			c.w.WriteInt(0)
		} else {
			c.w.WriteArrayLen(0)
		}
		return
	}
	// COUNT means the nearest ones, unless ANY asked for whichever come first.
	if q.count != 0 && q.sort == geoSortNone && !q.any {
		q.sort = geoSortAsc
	}
	limit := int64(0)
	if q.any {
		limit = q.count
	}
	points := geo.Search(z, &q.shape, limit)
	if len(points) == 0 && q.storeKey == nil {
		c.w.WriteArrayLen(0)
		return
	}
	returned := len(points)
	if q.count != 0 && q.count < int64(returned) {
		returned = int(q.count)
	}
	if q.sort != geoSortNone {
		geo.Order(points, q.sort == geoSortDesc, int64(returned))
	}
	points = points[:returned]
	for i := range points {
		points[i].Dist /= q.shape.Conversion
	}
	if q.storeKey != nil {
		c.geoStore(&q, points)
		return
	}
	c.writeGeoPoints(&q, points)
}

// geoOptions parses the options after the fixed arguments. haveSet says
// the source exists: FROMMEMBER only looks its member up then.
func (c *Client) geoOptions(opts [][]byte, v geoVariant, haveSet bool, q *geoQuery, score func([]byte) (float64, bool)) bool {
	n := len(opts)
	for i := 0; i < n; i++ {
		a := opts[i]
		switch {
		case eq(a, "withdist"):
			q.withDist = true
		case eq(a, "withhash"):
			q.withHash = true
		case eq(a, "withcoord"):
			q.withCoord = true
		case eq(a, "any"):
			q.any = true
		case eq(a, "asc"):
			q.sort = geoSortAsc
		case eq(a, "desc"):
			q.sort = geoSortDesc
		case eq(a, "count") && i+1 < n:
			count, ok := parseInt(opts[i+1])
			if !ok {
				c.w.WriteError(errNotInt)
				return false
			}
			if count <= 0 {
				c.w.WriteError("ERR COUNT must be > 0")
				return false
			}
			q.count = count
			i++
		case (eq(a, "store") || eq(a, "storedist")) && i+1 < n && !v.noStore && !v.search:
			q.storeKey = opts[i+1]
			q.storeDist = eq(a, "storedist")
			i++
		case eq(a, "storedist") && v.searchStore:
			q.storeDist = true
		case eq(a, "frommember") && i+1 < n && v.search && !q.fromLonLat:
			if haveSet {
				s, found := score(opts[i+1])
				if !found {
					c.w.WriteError(errGeoMember)
					return false
				}
				q.shape.Lon, q.shape.Lat = geo.Decode(s)
			}
			q.fromMember = true
			i++
		case eq(a, "fromlonlat") && i+2 < n && v.search && !q.fromMember:
			lon, lat, ok := c.geoPoint(opts[i+1], opts[i+2])
			if !ok {
				return false
			}
			q.shape.Lon, q.shape.Lat = lon, lat
			q.fromLonLat = true
			i += 2
		case eq(a, "byradius") && i+2 < n && v.search && !q.byBox:
			if !c.geoRadius(opts[i+1:i+3], &q.shape) {
				return false
			}
			q.byRadius = true
			i += 2
		case eq(a, "bybox") && i+3 < n && v.search && !q.byRadius:
			if !c.geoBox(opts[i+1:i+4], &q.shape) {
				return false
			}
			q.byBox = true
			i += 3
		default:
			c.w.WriteError(errSyntax)
			return false
		}
	}
	return true
}

// writeGeoPoints answers a search: members alone, or each with its
// distance, hash and coordinates, in that order, as asked.
func (c *Client) writeGeoPoints(q *geoQuery, points []geo.Point) {
	extra := 0
	for _, on := range []bool{q.withDist, q.withHash, q.withCoord} {
		if on {
			extra++
		}
	}
	c.w.WriteArrayLen(len(points))
	for _, p := range points {
		if extra > 0 {
			c.w.WriteArrayLen(extra + 1)
		}
		c.w.WriteBulk(p.Member)
		if q.withDist {
			c.w.WriteBulkString(geo.FormatDistance(p.Dist))
		}
		if q.withHash {
			c.w.WriteInt(geo.ScoreInt(p.Score))
		}
		if q.withCoord {
			c.w.WriteArrayLen(2)
			c.writeCoord(p.Lon)
			c.writeCoord(p.Lat)
		}
	}
}

// geoStore replaces the destination with the found members, scored by
// geohash or (STOREDIST) by distance; nothing found deletes it.
func (c *Client) geoStore(q *geoQuery, points []geo.Point) {
	db := c.srv.DB
	type entry struct {
		member []byte
		score  float64
	}
	// copied first: the destination may be the source
	entries := make([]entry, len(points))
	for i, p := range points {
		entries[i] = entry{copyBytes(p.Member), p.Score}
		if q.storeDist {
			entries[i].score = p.Dist
		}
	}
	db.Delete(q.storeKey)
	if len(entries) > 0 {
		z, _ := db.ZSet(q.storeKey, true)
		for _, e := range entries {
			z.Add(e.member, e.score, db.Limits())
		}
	}
	c.w.WriteInt(int64(len(entries)))
}
