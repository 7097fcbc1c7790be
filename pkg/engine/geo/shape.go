package geo

import "math"

// Constants of Redis's geohash_helper.c (WGS-84 mean radius, Mercator width).
const (
	EarthRadius = 6372797.560856
	mercatorMax = 20037726.37
)

// degToRad is pi/180 rounded once as a float64 division, as C folds
// M_PI/180.0 (a Go constant expression would be exact, then rounded).
var degToRad = divide(math.Pi, 180)

func divide(a, b float64) float64 { return a / b }

func radians(deg float64) float64 { return deg * degToRad }
func degrees(rad float64) float64 { return rad / degToRad }

// Shape is a search area: a circle or an axis-aligned box around a point,
// its sizes in the request's unit and Conversion the unit in meters.
type Shape struct {
	Box           bool
	Lon, Lat      float64
	Radius        float64
	Width, Height float64
	Conversion    float64
}

// LatDistance is the distance between two latitudes on one meridian.
func LatDistance(lat1, lat2 float64) float64 {
	return EarthRadius * math.Abs(radians(lat2)-radians(lat1))
}

// Distance is the haversine great-circle distance in meters.
func Distance(lon1, lat1, lon2, lat2 float64) float64 {
	lon1r, lon2r := radians(lon1), radians(lon2)
	v := libmSin((lon2r - lon1r) / 2)
	if v == 0 { // same meridian: no trigonometry needed
		return LatDistance(lat1, lat2)
	}
	lat1r, lat2r := radians(lat1), radians(lat2)
	u := libmSin((lat2r - lat1r) / 2)
	a := float64(u*u) + float64(float64(float64(libmCos(lat1r)*libmCos(lat2r))*v)*v)
	return 2.0 * EarthRadius * libmAsin(math.Sqrt(a))
}

// Contains reports whether a stored point is in the shape, and its
// distance in meters from the shape's center.
func (s *Shape) Contains(lon, lat float64) (float64, bool) {
	if !s.Box {
		d := Distance(s.Lon, s.Lat, lon, lat)
		return d, !(d > s.Radius*s.Conversion)
	}
	width, height := s.Width*s.Conversion, s.Height*s.Conversion
	if LatDistance(lat, s.Lat) > height/2 {
		return 0, false
	}
	if Distance(lon, lat, s.Lon, lat) > width/2 {
		return 0, false
	}
	return Distance(s.Lon, s.Lat, lon, lat), true
}

// stepsForRadius picks the hash precision whose boxes are about as large
// as the search radius (coarser towards the poles).
func stepsForRadius(meters, lat float64) uint8 {
	if meters == 0 {
		return StepMax
	}
	step := 1
	for meters < mercatorMax { // at most about 1100 rounds, for the smallest subnormal
		meters *= 2
		step++
	}
	step -= 2
	if lat > 66 || lat < -66 {
		step--
		if lat > 80 || lat < -80 {
			step--
		}
	}
	return uint8(min(max(step, 1), StepMax))
}

// boundingBox is [min lon, min lat, max lon, max lat] around the shape;
// meridians converge, so the box is widest on the side nearer the equator.
func (s *Shape) boundingBox() [4]float64 {
	half, halfWidth := s.Radius, s.Radius
	if s.Box {
		half, halfWidth = s.Height/2, s.Width/2
	}
	height := s.Conversion * half
	width := s.Conversion * halfWidth
	latDelta := degrees(height / EarthRadius)
	lonDeltaTop := degrees(width / EarthRadius / libmCos(radians(s.Lat+latDelta)))
	lonDeltaBottom := degrees(width / EarthRadius / libmCos(radians(s.Lat-latDelta)))
	lonDelta := lonDeltaTop
	if s.Lat < 0 {
		lonDelta = lonDeltaBottom
	}
	return [4]float64{s.Lon - lonDelta, s.Lat - latDelta, s.Lon + lonDelta, s.Lat + latDelta}
}

// searchBoxes returns the nine boxes a search visits, in Redis's order
// (center, N, S, E, W, NE, NW, SE, SW); boxes that cannot hold a match
// are zero.
func (s *Shape) searchBoxes() [9]Bits {
	bounds := s.boundingBox()
	minLon, minLat, maxLon, maxLat := bounds[0], bounds[1], bounds[2], bounds[3]
	radius := s.Radius
	if s.Box {
		// the distance from the center to a corner
		radius = math.Sqrt(float64(s.Width/2*(s.Width/2)) + float64(s.Height/2*(s.Height/2)))
	}
	radius *= s.Conversion
	steps := stepsForRadius(radius, s.Lat)

	hash, _ := Encode(s.Lon, s.Lat, steps)
	nb := neighborsOf(hash)
	area, _ := decode(mercatorLon, mercatorLat, hash)

	// A center near the edge of its box may need larger boxes to cover
	// the whole area.
	north, _ := decode(mercatorLon, mercatorLat, nb.North)
	south, _ := decode(mercatorLon, mercatorLat, nb.South)
	east, _ := decode(mercatorLon, mercatorLat, nb.East)
	west, _ := decode(mercatorLon, mercatorLat, nb.West)
	tooSmall := north.Latitude.Max < maxLat || south.Latitude.Min > minLat ||
		east.Longitude.Max < maxLon || west.Longitude.Min > minLon
	if steps > 1 && tooSmall {
		steps--
		hash, _ = Encode(s.Lon, s.Lat, steps)
		nb = neighborsOf(hash)
		area, _ = decode(mercatorLon, mercatorLat, hash)
	}

	if steps >= 2 {
		if area.Latitude.Min < minLat {
			nb.South, nb.SouthWest, nb.SouthEast = Bits{}, Bits{}, Bits{}
		}
		if area.Latitude.Max > maxLat {
			nb.North, nb.NorthEast, nb.NorthWest = Bits{}, Bits{}, Bits{}
		}
		if area.Longitude.Min < minLon {
			nb.West, nb.SouthWest, nb.NorthWest = Bits{}, Bits{}, Bits{}
		}
		if area.Longitude.Max > maxLon {
			nb.East, nb.SouthEast, nb.NorthEast = Bits{}, Bits{}, Bits{}
		}
	}
	return [9]Bits{hash, nb.North, nb.South, nb.East, nb.West, nb.NorthEast, nb.NorthWest, nb.SouthEast, nb.SouthWest}
}
