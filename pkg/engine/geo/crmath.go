package geo

import (
	"math"
	"math/big"
)

// Correctly rounded sin, cos and asin, for builds without cgo (see
// libm_cgo.go). redis-server takes the three from glibc, whose results are
// the correctly rounded ones in all but about 1 call in 700 (cos) or 2000
// (asin); Go's math package is up to an ulp away far more often (a third
// of asin's results differ), and an ulp decides the last digit of a
// STOREDIST score and, at the very edge, whether a member is in a radius.
// So these are computed in double-double arithmetic (about 104 bits) and
// rounded once to float64.

// dd is an unevaluated sum hi+lo with |lo| <= ulp(hi)/2.
type dd struct{ hi, lo float64 }

func twoSum(a, b float64) (float64, float64) {
	s := a + b
	bb := s - a
	return s, (a - (s - bb)) + (b - bb)
}

func quickTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

func twoProd(a, b float64) (float64, float64) {
	p := a * b
	return p, math.FMA(a, b, -p)
}

func (x dd) add(y dd) dd {
	s, e := twoSum(x.hi, y.hi)
	t, f := twoSum(x.lo, y.lo)
	e += t
	r := quickTwoSum(s, e)
	r.lo += f
	return quickTwoSum(r.hi, r.lo)
}

func (x dd) neg() dd { return dd{-x.hi, -x.lo} }

func (x dd) sub(y dd) dd { return x.add(y.neg()) }

func (x dd) mul(y dd) dd {
	p, e := twoProd(x.hi, y.hi)
	e += float64(x.hi*y.lo) + float64(x.lo*y.hi)
	return quickTwoSum(p, e)
}

func (x dd) mulFloat(f float64) dd {
	p, e := twoProd(x.hi, f)
	e += float64(x.lo * f)
	return quickTwoSum(p, e)
}

func (x dd) divFloat(d float64) dd {
	q1 := x.hi / d
	p, e := twoProd(q1, d)
	s, f := twoSum(x.hi, -p)
	f -= e
	f += x.lo
	q2 := (s + f) / d
	return quickTwoSum(q1, q2)
}

// sqrtDD is sqrt(z) to double-double precision (one Newton correction).
func sqrtDD(z float64) dd {
	if z <= 0 {
		return dd{math.Sqrt(z), 0}
	}
	h := math.Sqrt(z)
	return quickTwoSum(h, math.FMA(-h, h, z)/(2*h))
}

const taylorTerms = 32

var (
	halfPi   dd      // pi/2 as a double-double
	halfPi3  float64 // the next 53 bits of pi/2 below halfPi
	invFacts [taylorTerms + 1]dd
)

func init() {
	pi, _, err := big.ParseFloat("3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706798214808651328230664709384460955058223", 10, 256, big.ToNearestEven)
	if err != nil {
		panic(err)
	}
	h := new(big.Float).SetPrec(256).Quo(pi, big.NewFloat(2))
	p1, _ := h.Float64()
	rest := new(big.Float).SetPrec(256).Sub(h, big.NewFloat(p1))
	p2, _ := rest.Float64()
	rest.Sub(rest, big.NewFloat(p2))
	halfPi = dd{p1, p2}
	halfPi3, _ = rest.Float64()
	invFacts[0] = dd{1, 0}
	for n := 1; n <= taylorTerms; n++ {
		invFacts[n] = invFacts[n-1].divFloat(float64(n))
	}
}

// reduce returns r and k with x = r + k*pi/2 and |r| <= about pi/4.
func reduce(x float64) (dd, int) {
	if math.Abs(x) <= math.Pi/4 {
		return dd{x, 0}, 0
	}
	k := math.RoundToEven(x / halfPi.hi)
	p, e := twoProd(k, halfPi.hi)
	r := dd{x, 0}.sub(dd{p, e})
	p, e = twoProd(k, halfPi.lo)
	r = r.sub(dd{p, e})
	r = r.sub(dd{k * halfPi3, 0})
	return r, int(int64(k) & 3)
}

// sinCosReduced is sin(r) and cos(r) for |r| <= about pi/4, by Taylor series.
func sinCosReduced(r dd) (dd, dd) {
	r2 := r.mul(r)
	s := invFacts[taylorTerms-1]
	c := invFacts[taylorTerms]
	for n := taylorTerms - 2; n >= 0; n -= 2 {
		// sin: 1/1! - r2/3! + ...; cos: 1/0! - r2/2! + ...
		s = invFacts[n+1].sub(r2.mul(s))
		c = invFacts[n].sub(r2.mul(c))
	}
	return r.mul(s), c
}

// reducibleLimit bounds the arguments reduced with a three-part pi/2; the
// search never needs larger ones where the result matters.
const reducibleLimit = 1 << 20

func sinCosDD(x float64) (dd, dd) {
	r, k := reduce(x)
	s, c := sinCosReduced(r)
	switch k {
	case 1:
		return c, s.neg()
	case 2:
		return s.neg(), c.neg()
	case 3:
		return c.neg(), s
	}
	return s, c
}

// crSin is sin(x) correctly rounded.
func crSin(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > reducibleLimit {
		return math.Sin(x)
	}
	if x == 0 {
		return x
	}
	s, _ := sinCosDD(x)
	return s.hi
}

// crCos is cos(x) correctly rounded.
func crCos(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > reducibleLimit {
		return math.Cos(x)
	}
	_, c := sinCosDD(x)
	return c.hi
}

// asinNewton refines y0 ~ asin(x) for |x| <= 1/2 to double-double
// precision: one Newton step on sin(y) = x doubles y0's 53 good bits.
func asinNewton(x dd) dd {
	y0 := math.Asin(x.hi)
	s, c := sinCosDD(y0)
	d := x.sub(s)
	return quickTwoSum(y0, d.hi/c.hi)
}

// crAsin is asin(x) correctly rounded.
func crAsin(x float64) float64 {
	switch {
	case math.IsNaN(x) || x > 1 || x < -1:
		return math.NaN()
	case x == 0:
		return x
	case x < 0:
		return -crAsin(-x)
	case x <= 0.5:
		return asinNewton(dd{x, 0}).hi
	}
	// asin(x) = pi/2 - 2*asin(sqrt((1-x)/2)); (1-x)/2 is exact here.
	y := asinNewton(sqrtDD((1 - x) / 2))
	return halfPi.sub(y.mulFloat(2)).hi
}
