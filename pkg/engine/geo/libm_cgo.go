//go:build cgo

package geo

// #cgo LDFLAGS: -lm
// #include <math.h>
import "C"

// With cgo the distances use the C library's sin, cos and asin, the very
// functions redis-server calls: on the same system the results agree to
// the last bit, which STOREDIST scores show (17 digits). glibc is not
// correctly rounded in about 1 call in 1000, and no independent
// implementation can know where.

// LibmExact reports that the C library's functions are in use.
const LibmExact = true

func libmSin(x float64) float64  { return float64(C.sin(C.double(x))) }
func libmCos(x float64) float64  { return float64(C.cos(C.double(x))) }
func libmAsin(x float64) float64 { return float64(C.asin(C.double(x))) }
