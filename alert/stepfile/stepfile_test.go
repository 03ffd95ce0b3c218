package stepfile

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sample() []Entry {
	at := time.Date(2026, 11, 30, 7, 0, 0, 123000, time.UTC)
	return []Entry{
		{Key: "a", First: at, Step: time.Minute, Columns: []string{"ip", "n"}, Label: []bool{true, false}, Rows: 2,
			Cols:  []Column{{Kind: Strings, Strs: []string{"192.0.2.1", "192.0.2.2"}}, {Kind: Ints, Ints: []int64{3, 0}, Null: []bool{false, true}}},
			Steps: [][]int32{{0}, {}, {0, 1}}, PerStep: time.Millisecond, Method: "sliding", Mark: 42},
		{Key: "b", First: at, Step: 5 * time.Minute, Columns: []string{"v"}, Label: []bool{false}, Rows: 17,
			Cols: []Column{{Kind: Anys, Anys: []any{nil, true, 7, int8(-8), int16(16), int32(-32), int64(64), uint(1), uint8(8),
				uint16(16), uint32(32), uint64(1 << 63), float32(1.5), 2.25, "", "text", at}}},
			Steps: [][]int32{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}}},
		{Key: "empty", First: at, Step: time.Minute, Columns: []string{"f"}, Label: []bool{false}, Cols: []Column{{Kind: Floats, Flts: []float64{}}},
			Steps: [][]int32{{}, {}}},
	}
}

// What Write writes, Read gives back: every value of its type.
func TestRoundTrip(t *testing.T) {
	var file bytes.Buffer
	if err := Write(&file, "store-1", sample()); err != nil {
		t.Fatal(err)
	}
	id, got, err := Read(&file, int64(file.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if id != "store-1" {
		t.Errorf("store id %q, want store-1", id)
	}
	want := sample()
	// An empty step reads back as nil.
	want[0].Steps[1], want[2].Steps = nil, [][]int32{nil, nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read() =\n%+v\nwant\n%+v", got, want)
	}
	for i, v := range want[1].Cols[0].Anys {
		if reflect.TypeOf(got[1].Cols[0].Anys[i]) != reflect.TypeOf(v) {
			t.Errorf("value %d came back as a %T, want a %T", i, got[1].Cols[0].Anys[i], v)
		}
	}
	if Savable([]any{1}) || Savable(map[string]any{}) || !Savable(time.Time{}) {
		t.Error("Savable accepts a list or a map, or refuses a time")
	}
	if err := Write(&file, "s", []Entry{{Key: "x", Step: time.Minute, Columns: []string{"v"}, Label: []bool{false}, Rows: 1,
		Cols: []Column{{Kind: Anys, Anys: []any{[]int{1}}}}}}); err == nil {
		t.Error("Write() of a list = nil error")
	}
}

// Entries that do not hold together are refused.
func TestReadRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(*Entry)
		want  string
	}{
		{"index past the rows", func(e *Entry) { e.Steps[0] = []int32{2} }, "row 2 of 2"},
		{"negative index", func(e *Entry) { e.Steps[0] = []int32{-1} }, "row -1 of 2"},
		{"short column", func(e *Entry) { e.Cols[0].Strs = e.Cols[0].Strs[:1] }, "1 values for 2 rows"},
		{"short nulls", func(e *Entry) { e.Cols[1].Null = []bool{true} }, "1 nulls for 2 rows"},
		{"missing labels", func(e *Entry) { e.Label = e.Label[:1] }, "2 columns, 1 labels"},
		{"unsorted columns", func(e *Entry) { e.Columns = []string{"n", "ip"} }, "out of order"},
		{"no step", func(e *Entry) { e.Step = 0 }, "step 0s"},
		{"no key", func(e *Entry) { e.Key = "" }, "no key"},
		{"unknown kind", func(e *Entry) { e.Cols[0].Kind = 9 }, "kind 9"},
	} {
		entries := sample()[:1]
		tc.spoil(&entries[0])
		var file bytes.Buffer
		if err := Write(&file, "s", entries); err != nil {
			t.Fatal(err)
		}
		if _, _, err := Read(&file, int64(file.Len())); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Read() = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	var file bytes.Buffer
	if err := Write(&file, "s", sample()); err != nil {
		t.Fatal(err)
	}
	whole := file.Bytes()
	for _, bad := range [][]byte{nil, []byte("not a cache"), whole[:len(whole)-1], whole[:len(whole)/2], {0xf8, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		if _, _, err := Read(bytes.NewReader(bad), int64(len(bad))); err == nil {
			t.Errorf("Read(%q) = nil error", bad)
		}
	}
}

// A damaged file is an error, never a panic, and what Read returns holds
// together.
func FuzzRead(f *testing.F) {
	var file bytes.Buffer
	if err := Write(&file, "store-1", sample()); err != nil {
		f.Fatal(err)
	}
	f.Add(file.Bytes())
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, entries, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		for _, e := range entries {
			for _, idx := range e.Steps {
				for _, k := range idx {
					if k < 0 || int(k) >= e.Rows {
						t.Fatalf("entry %s: index %d of %d rows", e.Key, k, e.Rows)
					}
				}
			}
			for _, c := range e.Cols {
				if n := len(c.Ints) + len(c.Flts) + len(c.Strs) + len(c.Anys); n != e.Rows {
					t.Fatalf("entry %s: a column of %d values for %d rows", e.Key, n, e.Rows)
				}
			}
		}
	})
}

// bigEntries is a week of one-minute steps of a rule keyed by address
// and key, 20 rows a step, half of them new each step.
func bigEntries() []Entry {
	const steps, perStep = 7 * 24 * 60, 20
	rows := steps * perStep / 2
	e := Entry{Key: "big", First: time.Unix(0, 0).UTC(), Step: time.Minute, Columns: []string{"api_key_id", "ips", "peer_ip", "requests"},
		Label: []bool{true, false, true, false}, Rows: rows, Steps: make([][]int32, steps), Method: "sliding", Lookback: time.Hour}
	keys, ips := make([]string, rows), make([]string, rows)
	counts, reqs := make([]int64, rows), make([]int64, rows)
	for i := range rows {
		keys[i], ips[i] = fmt.Sprintf("dvk_%016d", i%5000), fmt.Sprintf("198.51.%d.%d", i/256%256, i%256)
		counts[i], reqs[i] = int64(i%17), int64(i%1000)
	}
	e.Cols = []Column{{Kind: Strings, Strs: keys}, {Kind: Ints, Ints: counts}, {Kind: Strings, Strs: ips}, {Kind: Ints, Ints: reqs}}
	for s := range steps {
		idx := make([]int32, perStep)
		for j := range idx {
			idx[j] = int32((s*perStep/2 + j) % rows)
		}
		e.Steps[s] = idx
	}
	return []Entry{e}
}

func BenchmarkWrite(b *testing.B) {
	entries := bigEntries()
	var file bytes.Buffer
	for b.Loop() {
		file.Reset()
		if err := Write(&file, "store-1", entries); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(file.Len())/(1<<20), "MB")
	b.SetBytes(int64(file.Len()))
}

func BenchmarkRead(b *testing.B) {
	var file bytes.Buffer
	if err := Write(&file, "store-1", bigEntries()); err != nil {
		b.Fatal(err)
	}
	data := file.Bytes()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, _, err := Read(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
