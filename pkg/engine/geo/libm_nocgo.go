//go:build !cgo

package geo

// LibmExact reports that the C library's functions are in use; without
// cgo the correctly rounded ones stand in, which agree with glibc's but
// in about 1 call in 1000 (by one ulp).
const LibmExact = false

func libmSin(x float64) float64  { return crSin(x) }
func libmCos(x float64) float64  { return crCos(x) }
func libmAsin(x float64) float64 { return crAsin(x) }
