package geo

import (
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"testing"
)

// bigSin is sin(x) to 300 bits, by its Taylor series (|x| <= 2).
func bigSin(x *big.Float) *big.Float {
	const prec = 300
	x2 := new(big.Float).SetPrec(prec).Mul(x, x)
	term := new(big.Float).SetPrec(prec).Set(x)
	sum := new(big.Float).SetPrec(prec).Set(x)
	for n := 1; n < 80; n += 2 {
		term.Mul(term, x2)
		term.Quo(term, new(big.Float).SetInt64(int64((n+1)*(n+2))))
		term.Neg(term)
		sum.Add(sum, term)
	}
	return sum
}

// isRoundingOf reports whether y is exact(x) rounded to nearest: the
// exact value lies between the midpoints to y's neighbours. f must be
// increasing around y.
func isRoundingOf(y float64, exact func(*big.Float) *big.Float, x float64) bool {
	const prec = 300
	mid := func(a, b float64) *big.Float {
		s := new(big.Float).SetPrec(prec).SetFloat64(a)
		s.Add(s, new(big.Float).SetPrec(prec).SetFloat64(b))
		return s.Quo(s, big.NewFloat(2))
	}
	lo := exact(mid(math.Nextafter(y, math.Inf(-1)), y))
	hi := exact(mid(y, math.Nextafter(y, math.Inf(1))))
	bx := new(big.Float).SetPrec(prec).SetFloat64(x)
	return lo.Cmp(bx) <= 0 && bx.Cmp(hi) <= 0
}

// TestGeoCorrectlyRounded checks the fallback sin, cos and asin against
// 300-bit references over the arguments distances use.
func TestGeoCorrectlyRounded(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		x := (r.Float64()*2 - 1) * math.Pi / 2 * math.Pow(10, -float64(r.IntN(8)))
		want, _ := bigSin(new(big.Float).SetPrec(300).SetFloat64(x)).Float64()
		if got := crSin(x); got != want {
			t.Fatalf("sin(%v) = %v, want %v", x, got, want)
		}
		// cos(x) = sin(pi/2 - x), with pi/2 to 300 bits
		c := new(big.Float).SetPrec(300).SetFloat64(halfPi.hi)
		c.Add(c, new(big.Float).SetFloat64(halfPi.lo))
		c.Add(c, new(big.Float).SetFloat64(halfPi3))
		c.Sub(c, new(big.Float).SetPrec(300).SetFloat64(x))
		wantCos, _ := bigSin(c).Float64()
		if got := crCos(x); got != wantCos {
			t.Fatalf("cos(%v) = %v, want %v", x, got, wantCos)
		}
		a := r.Float64() * math.Pow(10, -float64(r.IntN(8)))
		if i%10 == 0 {
			a = 1 - a*1e-6 // near 1, where asin is steepest
		}
		if got := crAsin(a); !isRoundingOf(got, bigSin, a) {
			t.Fatalf("asin(%v) = %v is not the correctly rounded value", a, got)
		}
	}
	if crAsin(1) != math.Pi/2 || crAsin(0) != 0 || !math.IsNaN(crAsin(1.0000000000000002)) || crAsin(-0.5) != -crAsin(0.5) {
		t.Fatal("asin special values")
	}
	for _, x := range []float64{math.NaN(), math.Inf(1), 1e300} {
		if s, c := crSin(x), crCos(x); s != math.Sin(x) && !(math.IsNaN(s) && math.IsNaN(math.Sin(x))) || c != math.Cos(x) && !(math.IsNaN(c) && math.IsNaN(math.Cos(x))) {
			t.Fatalf("sin/cos(%v) = %v, %v", x, s, c)
		}
	}
}

func TestGeoHashAndDecode(t *testing.T) {
	score, ok := Score(13.361389, 38.115556)
	if !ok || score != 3479099956230698 || Hash(score) != "sqc8b49rny0" {
		t.Fatalf("Palermo: %v %v %q", score, ok, Hash(score))
	}
	lon, lat := Decode(score)
	if FormatCoord(lon) != "13.36138933897018433" || FormatCoord(lat) != "38.11555639549629859" {
		t.Fatalf("Palermo decodes to %v %v", lon, lat)
	}
	if _, ok := Score(180.0000001, 0); ok {
		t.Fatal("longitude out of range accepted")
	}
	// Scores ZADD put there decode too, clamped to the stored ranges.
	for _, s := range []float64{-1, 1.5, 1e20, math.Inf(1), math.Inf(-1), 1 << 53} {
		lon, lat := Decode(s)
		if lon < LonMin || lon > LonMax || lat < LatMin || lat > LatMax {
			t.Fatalf("score %v decodes outside the ranges: %v %v", s, lon, lat)
		}
	}
	if scoreBits(-1) != math.MaxUint64 || scoreBits(math.Inf(1)) != 0 || scoreBits(math.Inf(-1)) != 1<<63 {
		t.Fatal("score conversion differs from x86-64 C")
	}
}

func TestGeoFormats(t *testing.T) {
	for in, want := range map[float64]string{
		0: "0.0000", 166274.1516: "166274.1516", 0.00004: "0.0000", 0.00005: "0.0000", 0.00015: "0.0001",
		1.23456: "1.2346", 12: "12.0000", math.NaN(): "-922337203685477.5808", -2.5: "-2.5000",
	} {
		if got := FormatDistance(in); got != want {
			t.Errorf("FormatDistance(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{
		0: "0", math.Copysign(0, -1): "0", -180: "-180", 0.1: "0.10000000000000001", 85.05112877980659: "85.05112877980658936",
	} {
		if got := FormatCoord(in); got != want {
			t.Errorf("FormatCoord(%v) = %q, want %q", in, got, want)
		}
	}
	if FormatFixed6(200) != "200.000000" || FormatFixed6(math.Inf(-1)) != "-inf" {
		t.Error("FormatFixed6")
	}
}

// TestGeoPartialSort: the first k positions after the partial quicksort are
// those of a full sort, by distance, with many equal distances.
func TestGeoPartialSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	cmp := func(a, b *Point) int {
		switch {
		case a.Dist > b.Dist:
			return 1
		case a.Dist == b.Dist:
			return 0
		}
		return -1
	}
	for round := 0; round < 500; round++ {
		n := 1 + r.IntN(300)
		pts := make([]Point, n)
		for i := range pts {
			pts[i].Dist = float64(r.IntN(n/3 + 1))
		}
		full := slices.Clone(pts)
		slices.SortStableFunc(full, func(a, b Point) int { return cmp(&a, &b) })
		k := 1 + r.IntN(n)
		partialSort(pts, cmp, 0, k-1)
		for i := 0; i < k; i++ {
			if pts[i].Dist != full[i].Dist {
				t.Fatalf("n=%d k=%d: position %d holds %v, want %v", n, k, i, pts[i].Dist, full[i].Dist)
			}
		}
	}
}
