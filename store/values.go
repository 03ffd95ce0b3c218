package store

import "math/big"

// AsInt64 converts a Result value of any integer column type (and
// float64, as some aggregates return) to int64; NULL is 0. It reports
// false for a value that is not a number.
func AsInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case int32:
		return int64(x), true
	case int16:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint64:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint8:
		return int64(x), true
	case float64:
		return int64(x), true
	case *big.Int:
		return x.Int64(), true
	case nil:
		return 0, true
	}
	return 0, false
}

// AsFloat64 converts a Result value of any numeric column type to
// float64. It reports false for a value that is not a number, NULL
// included.
func AsFloat64(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case uint64:
		return float64(x), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case nil:
		return 0, false
	}
	n, ok := AsInt64(v)
	return float64(n), ok
}
