// Package geo is the arithmetic behind Redis's GEO commands: the 52-bit
// interleaved geohash that a geo set stores as each member's score, the
// nine-box search around a point, and distances on the sphere. Every
// formula follows redis-server 7.0's float operation for float operation,
// because which member lies on the edge of a radius, and the last digit of
// a distance, depend on the exact rounding.
package geo

// The coordinates a geohash can hold: EPSG:900913 stops short of the poles.
const (
	LatMin  = -85.05112878
	LatMax  = 85.05112878
	LonMin  = -180.0
	LonMax  = 180.0
	StepMax = 26 // 26 steps of 2 bits: 52 bits, exact in a float64 score
)

// Bits is a geohash of step*2 bits, longitude bits at odd positions.
type Bits struct {
	Bits uint64
	Step uint8
}

// isZero is the "no box" marker of a neighbour excluded from a search.
func (b Bits) isZero() bool { return b.Bits == 0 && b.Step == 0 }

// Range is one coordinate's interval.
type Range struct{ Min, Max float64 }

// Area is the rectangle a geohash stands for.
type Area struct {
	Hash      Bits
	Longitude Range
	Latitude  Range
}

var (
	mercatorLon = Range{LonMin, LonMax}
	mercatorLat = Range{LatMin, LatMax}
	// standardLat is the latitude range of the public geohash format
	// (GEOHASH), which differs from the stored one.
	standardLat = Range{-90, 90}
)

// spread moves the low 32 bits of v to the even bit positions.
func spread(v uint64) uint64 {
	v = (v | v<<16) & 0x0000FFFF0000FFFF
	v = (v | v<<8) & 0x00FF00FF00FF00FF
	v = (v | v<<4) & 0x0F0F0F0F0F0F0F0F
	v = (v | v<<2) & 0x3333333333333333
	v = (v | v<<1) & 0x5555555555555555
	return v
}

// squeeze is spread's inverse: the even bits of v packed into 32 bits.
func squeeze(v uint64) uint64 {
	v &= 0x5555555555555555
	v = (v | v>>1) & 0x3333333333333333
	v = (v | v>>2) & 0x0F0F0F0F0F0F0F0F
	v = (v | v>>4) & 0x00FF00FF00FF00FF
	v = (v | v>>8) & 0x0000FFFF0000FFFF
	v = (v | v>>16) & 0x00000000FFFFFFFF
	return v
}

func interleave(lat, lon uint32) uint64 { return spread(uint64(lat)) | spread(uint64(lon))<<1 }

// deinterleave returns the latitude and longitude halves of a hash.
func deinterleave(h uint64) (lat, lon uint32) {
	return uint32(squeeze(h)), uint32(squeeze(h >> 1))
}

// encode hashes a point within the given ranges; false when it is outside.
func encode(lonRange, latRange Range, lon, lat float64, step uint8) (Bits, bool) {
	if step == 0 || step > 32 {
		return Bits{}, false
	}
	if lon > LonMax || lon < LonMin || lat > LatMax || lat < LatMin {
		return Bits{}, false
	}
	if lat < latRange.Min || lat > latRange.Max || lon < lonRange.Min || lon > lonRange.Max {
		return Bits{Step: step}, false
	}
	latOffset := (lat - latRange.Min) / (latRange.Max - latRange.Min)
	lonOffset := (lon - lonRange.Min) / (lonRange.Max - lonRange.Min)
	scale := float64(uint64(1) << step)
	latOffset *= scale
	lonOffset *= scale
	// the offsets are in [0, 2^step]: the conversion truncates as C's does
	return Bits{Bits: interleave(uint32(latOffset), uint32(lonOffset)), Step: step}, true
}

// Encode hashes a point of the stored (Mercator-limited) ranges.
func Encode(lon, lat float64, step uint8) (Bits, bool) {
	return encode(mercatorLon, mercatorLat, lon, lat, step)
}

// decode returns the rectangle a hash stands for.
func decode(lonRange, latRange Range, h Bits) (Area, bool) {
	if h.isZero() {
		return Area{}, false
	}
	ilat, ilon := deinterleave(h.Bits)
	div := float64(uint64(1) << h.Step)
	latScale := latRange.Max - latRange.Min
	lonScale := lonRange.Max - lonRange.Min
	// ilat+1 wraps in 32 bits, as the unsigned arithmetic it mirrors does
	return Area{
		Hash: h,
		Latitude: Range{
			latRange.Min + float64(float64(ilat)/div*latScale),
			latRange.Min + float64(float64(ilat+1)/div*latScale),
		},
		Longitude: Range{
			lonRange.Min + float64(float64(ilon)/div*lonScale),
			lonRange.Min + float64(float64(ilon+1)/div*lonScale),
		},
	}, true
}

// center is an area's middle point, clamped to the stored ranges.
func (a Area) center() (lon, lat float64) {
	lon = (a.Longitude.Min + a.Longitude.Max) / 2
	lon = min(max(lon, LonMin), LonMax)
	lat = (a.Latitude.Min + a.Latitude.Max) / 2
	lat = min(max(lat, LatMin), LatMax)
	return lon, lat
}

// Align52 left-aligns a hash to the 52 bits of a score.
func Align52(h Bits) uint64 { return h.Bits << (52 - 2*uint(h.Step)) }

// Score is the sorted-set score of a point; ok is false outside the
// stored ranges.
func Score(lon, lat float64) (float64, bool) {
	h, ok := Encode(lon, lat, StepMax)
	if !ok {
		return 0, false
	}
	// 52 bits, or 54 at the range's very ends: converted with
	// round-to-nearest, as the decimal string Redis hands ZADD is parsed.
	return float64(Align52(h)), true
}

// scoreBits converts a score to its hash bits the way x86-64 C code
// converts a double to uint64 (cvttsd2si, with 2^63 subtracted first for
// large values): any score decodes, also one that ZADD put there.
func scoreBits(score float64) uint64 {
	const two63 = 9223372036854775808.0
	if !(score >= two63) {
		return uint64(truncToInt64(score))
	}
	return uint64(truncToInt64(score-two63)) ^ 1<<63
}

// truncToInt64 is cvttsd2si: truncation, or the "integer indefinite"
// value for NaN and values out of the int64 range.
func truncToInt64(f float64) int64 {
	if f != f || f >= 9223372036854775808.0 || f < -9223372036854775808.0 {
		return -1 << 63
	}
	return int64(f)
}

// Decode returns the point a score stands for (the middle of its box).
func Decode(score float64) (lon, lat float64) {
	a, _ := decode(mercatorLon, mercatorLat, Bits{Bits: scoreBits(score), Step: StepMax})
	return a.center()
}

const base32 = "0123456789bcdefghjkmnpqrstuvwxyz"

// Hash is GEOHASH's 11-character standard geohash of a stored score: the
// point decoded and hashed again with latitudes -90..90 (the stored hash
// uses the Mercator limits). The 11th character stands for bits that a
// 52-bit hash lacks, so it is always '0'.
func Hash(score float64) string {
	lon, lat := Decode(score)
	h, _ := encode(mercatorLon, standardLat, lon, lat, StepMax)
	var buf [11]byte
	for i := 0; i < 10; i++ {
		buf[i] = base32[(h.Bits>>(52-(uint(i)+1)*5))&0x1f]
	}
	buf[10] = '0'
	return string(buf[:])
}

// move shifts a hash by one box east (+1) or west (-1) when lon is set,
// north or south otherwise, wrapping around at the ends.
func move(h Bits, d int, lon bool) Bits {
	keepMask, moveMask := uint64(0x5555555555555555), uint64(0xaaaaaaaaaaaaaaaa)
	if !lon {
		keepMask, moveMask = moveMask, keepMask
	}
	shift := 64 - 2*uint(h.Step)
	v := h.Bits & moveMask
	kept := h.Bits & keepMask
	fill := keepMask >> shift
	if d > 0 {
		v += fill + 1
	} else {
		v |= fill
		v -= fill + 1
	}
	v &= moveMask >> shift
	return Bits{Bits: v | kept, Step: h.Step}
}

// Neighbors are the eight boxes around one.
type Neighbors struct {
	North, South, East, West                   Bits
	NorthEast, NorthWest, SouthEast, SouthWest Bits
}

func neighborsOf(h Bits) Neighbors {
	n, s := move(h, 1, false), move(h, -1, false)
	return Neighbors{
		North: n, South: s,
		East: move(h, 1, true), West: move(h, -1, true),
		NorthEast: move(n, 1, true), NorthWest: move(n, -1, true),
		SouthEast: move(s, 1, true), SouthWest: move(s, -1, true),
	}
}

// ScoreInt is a score as WITHHASH reports it: converted to a C long long
// (truncated; the int64 minimum when out of range).
func ScoreInt(score float64) int64 { return truncToInt64(score) }
