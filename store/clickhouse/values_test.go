package clickhouse

import (
	"math"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/shopspring/decimal"
)

func TestPlainValue(t *testing.T) {
	str := "s"
	ts := time.Date(2026, 3, 2, 3, 17, 0, 5, time.FixedZone("CET", 3600))
	huge, _ := new(big.Int).SetString("340282366920938463463374607431768211455", 10)
	for _, tc := range []struct {
		in, want any
	}{
		{nil, nil},
		{int8(-1), int64(-1)}, {int16(-2), int64(-2)}, {int32(-3), int64(-3)}, {int64(-4), int64(-4)}, {int(-5), int64(-5)},
		{uint8(1), uint64(1)}, {uint16(200), uint64(200)}, {uint32(3), uint64(3)}, {uint64(math.MaxUint64), uint64(math.MaxUint64)},
		{float32(0.5), float64(0.5)}, {1.25, 1.25}, {true, true}, {"x", "x"}, {[]byte("b"), []any{uint64('b')}},
		{ts, ts.UTC()},
		{big.NewInt(-7), int64(-7)}, {*big.NewInt(8), int64(8)}, {new(big.Int).SetUint64(math.MaxUint64), uint64(math.MaxUint64)},
		{huge, "340282366920938463463374607431768211455"}, {(*big.Int)(nil), nil},
		{decimal.RequireFromString("12.345"), 12.345},
		{uuid.MustParse("0b9c7f5e-6f4e-4b8a-9d1c-3a2b1c0d9e8f"), "0b9c7f5e-6f4e-4b8a-9d1c-3a2b1c0d9e8f"},
		{net.ParseIP("10.0.0.1").To4(), "10.0.0.1"}, {net.IP(nil), nil}, {netip.MustParseAddr("::1"), "::1"},
		{&str, "s"}, {(*string)(nil), nil}, {(**int32)(nil), nil},
		{[]uint16{200, 404}, []any{uint64(200), uint64(404)}},
		{[]*string{&str, nil}, []any{"s", nil}},
		{[][]int8{{1}, {}}, []any{[]any{int64(1)}, []any{}}},
		{[]string(nil), []any{}},
		{[2]float32{1, 2}, []any{1.0, 2.0}},
		{map[string]string{"k": "v"}, map[string]any{"k": "v"}},
		{map[string]uint64{"n": 2}, map[string]any{"n": uint64(2)}},
		{map[uint8][]string{1: {"a"}}, map[string]any{"1": []any{"a"}}},
		{map[string]any{"t": ts}, map[string]any{"t": ts.UTC()}},
		{[]any{int16(1), "a", nil}, []any{int64(1), "a", nil}},
		{struct {
			A int32
			B string
		}{1, "b"}, []any{int64(1), "b"}},
	} {
		got := plainValue(tc.in)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("plainValue(%#v) = %#v (%T), want %#v (%T)", tc.in, got, got, tc.want, tc.want)
		}
		checkPlain(t, got)
	}
}

// checkPlain fails unless v holds only store.Result's value types.
func checkPlain(t *testing.T, v any) {
	t.Helper()
	switch x := v.(type) {
	case nil, int64, uint64, float64, string, bool, time.Time:
	case []any:
		for _, e := range x {
			checkPlain(t, e)
		}
	case map[string]any:
		for _, e := range x {
			checkPlain(t, e)
		}
	default:
		t.Fatalf("value %#v has type %T, which store.Result does not allow", v, v)
	}
}

// FuzzPlainValue builds nested values of the shapes clickhouse-go scans
// (Nullable, Array, Map, Tuple of any scalar) and checks that what comes
// out holds only store.Result's types and keeps every number's value.
func FuzzPlainValue(f *testing.F) {
	f.Add(int64(-1), uint64(2), 0.5, "k", uint8(0))
	f.Add(int64(math.MinInt64), uint64(math.MaxUint64), math.Inf(1), "", uint8(7))
	f.Fuzz(func(t *testing.T, i int64, u uint64, fl float64, s string, shape uint8) {
		scalars := []any{i, int32(i), int8(i), u, uint16(u), uint8(u), fl, float32(fl), s, shape%2 == 0,
			time.Unix(0, i).In(time.FixedZone("z", int(shape)*60)), new(big.Int).SetUint64(u)}
		v := scalars[int(shape)%len(scalars)]
		switch shape / 16 % 6 {
		case 1:
			v = []any{v, nil}
		case 2:
			v = map[string]any{s: v}
		case 3:
			p := v
			v = &p
		case 4:
			v = [][]any{{v}, nil}
		case 5:
			v = map[int64][]any{i: {v}}
		}
		out := plainValue(v)
		checkPlain(t, out)
		// Integers keep their value.
		if n, ok := out.(int64); ok && int(shape)%len(scalars) == 0 && shape/16%6 == 0 && n != i {
			t.Fatalf("plainValue(%d) = %d", i, n)
		}
		if n, ok := out.(uint64); ok && int(shape)%len(scalars) == 3 && shape/16%6 == 0 && n != u {
			t.Fatalf("plainValue(%d) = %d", u, n)
		}
	})
}
