// Package stepfile is the file format of a saved replay cache
// (alert.StepCache): the rows of rules' evaluations, by rule and step,
// and the store mark they were read at.
//
// A file is a gob stream: a header, then one entry per message. Read
// checks that what it returns holds together (every index in range,
// every column as long as its rows), so that a damaged file is an error
// and never a panic later.
package stepfile

import (
	"bufio"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// magic begins every file; the version changes with the format.
const magic = "tracehound step cache v2"

// MaxSize bounds the file Read reads, in bytes.
const MaxSize = 4 << 30

// Entry is the rows of consecutive steps of one rule's replay: each
// distinct row once, column by column, and each step as indexes into
// them.
type Entry struct {
	Key     string
	First   time.Time
	Step    time.Duration
	Columns []string // in name order
	Label   []bool   // which of Columns are labels
	Rows    int
	Cols    []Column // one per column
	Steps   [][]int32
	PerStep time.Duration
	// Lookback is the furthest before its time a step's reads reach.
	Lookback time.Duration
	Method   string
	Mark     uint64
}

// Column is one column's values: Ints, Flts or Strs (with Null marking
// the nil values) when every value has that type, as Kind says, else
// Anys.
type Column struct {
	Kind Kind
	Ints []int64
	Flts []float64
	Strs []string
	Null []bool
	Anys []any
}

// Kind tells which of a Column's slices holds its values.
type Kind uint8

const (
	Ints Kind = iota
	Floats
	Strings
	Anys
)

type header struct {
	Magic   string
	StoreID string
	Entries int
}

// entry and column are Entry and Column as written: the values of mixed
// columns each with its type.
type entry struct {
	Key      string
	First    time.Time
	Step     time.Duration
	Columns  []string
	Label    []bool
	Rows     int
	Cols     []column
	Steps    [][]int32
	PerStep  time.Duration
	Lookback time.Duration
	Method   string
	Mark     uint64
}

type column struct {
	Kind Kind
	Ints []int64
	Flts []float64
	Strs []string
	Null []bool
	Anys []value
}

// Savable reports whether Write can keep v, a value of a mixed column:
// nil, a boolean, a number, a string or a time.
func Savable(v any) bool {
	_, ok := encodeValue(v)
	return ok
}

// Write writes the entries of the store storeID to w. Every value of a
// mixed column must be Savable.
func Write(w io.Writer, storeID string, entries []Entry) error {
	enc := gob.NewEncoder(w)
	if err := enc.Encode(header{Magic: magic, StoreID: storeID, Entries: len(entries)}); err != nil {
		return err
	}
	for _, e := range entries {
		we := entry{Key: e.Key, First: e.First, Step: e.Step, Columns: e.Columns, Label: e.Label, Rows: e.Rows,
			Steps: e.Steps, PerStep: e.PerStep, Lookback: e.Lookback, Method: e.Method, Mark: e.Mark}
		for _, c := range e.Cols {
			wc := column{Kind: c.Kind, Ints: c.Ints, Flts: c.Flts, Strs: c.Strs, Null: c.Null}
			if c.Kind == Anys {
				wc.Anys = make([]value, len(c.Anys))
				for i, v := range c.Anys {
					var ok bool
					if wc.Anys[i], ok = encodeValue(v); !ok {
						return fmt.Errorf("entry %s: column %d: a value of type %T", e.Key, i, v)
					}
				}
			}
			we.Cols = append(we.Cols, wc)
		}
		if err := enc.Encode(&we); err != nil {
			return err
		}
	}
	return nil
}

// Read reads a file Write wrote, of size bytes: the store's id and the
// entries.
func Read(r io.Reader, size int64) (storeID string, entries []Entry, err error) {
	if size < 0 || size > MaxSize {
		return "", nil, fmt.Errorf("a file of %d bytes", size)
	}
	dec := gob.NewDecoder(&frameReader{r: bufio.NewReader(r), remaining: size})
	var h header
	if err := dec.Decode(&h); err != nil || h.Magic != magic {
		return "", nil, errors.New("not a replay cache file of this version")
	}
	if h.Entries < 0 {
		return "", nil, fmt.Errorf("%d entries", h.Entries)
	}
	for i := range h.Entries {
		var we entry
		if err := dec.Decode(&we); err != nil {
			return "", nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		e, err := we.check()
		if err != nil {
			return "", nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		entries = append(entries, e)
	}
	return h.StoreID, entries, nil
}

// check returns the Entry we holds, if it holds together.
func (we *entry) check() (Entry, error) {
	switch {
	case we.Key == "":
		return Entry{}, errors.New("no key")
	case we.Step <= 0:
		return Entry{}, fmt.Errorf("step %v", we.Step)
	case we.Lookback < 0:
		return Entry{}, fmt.Errorf("lookback %v", we.Lookback)
	case len(we.Label) != len(we.Columns) || len(we.Cols) != len(we.Columns):
		return Entry{}, fmt.Errorf("%d columns, %d labels and %d value columns", len(we.Columns), len(we.Label), len(we.Cols))
	case we.Rows < 0:
		return Entry{}, fmt.Errorf("%d rows", we.Rows)
	case !slices.IsSorted(we.Columns):
		return Entry{}, errors.New("columns out of order")
	}
	e := Entry{Key: we.Key, First: we.First, Step: we.Step, Columns: we.Columns, Label: we.Label, Rows: we.Rows,
		Steps: we.Steps, PerStep: we.PerStep, Lookback: we.Lookback, Method: we.Method, Mark: we.Mark, Cols: make([]Column, len(we.Cols))}
	for i, wc := range we.Cols {
		c := &e.Cols[i]
		c.Kind = wc.Kind
		n := 0
		switch wc.Kind {
		case Ints:
			c.Ints, n = orEmpty(wc.Ints), len(wc.Ints)
		case Floats:
			c.Flts, n = orEmpty(wc.Flts), len(wc.Flts)
		case Strings:
			c.Strs, n = orEmpty(wc.Strs), len(wc.Strs)
		case Anys:
			c.Anys, n = make([]any, len(wc.Anys)), len(wc.Anys)
			for k, v := range wc.Anys {
				var ok bool
				if c.Anys[k], ok = v.decode(); !ok {
					return Entry{}, fmt.Errorf("column %q: a value of type %d", we.Columns[i], v.Type)
				}
			}
		default:
			return Entry{}, fmt.Errorf("column %q of kind %d", we.Columns[i], wc.Kind)
		}
		if n != we.Rows {
			return Entry{}, fmt.Errorf("column %q: %d values for %d rows", we.Columns[i], n, we.Rows)
		}
		if wc.Null != nil && wc.Kind != Anys {
			if len(wc.Null) != we.Rows {
				return Entry{}, fmt.Errorf("column %q: %d nulls for %d rows", we.Columns[i], len(wc.Null), we.Rows)
			}
			c.Null = wc.Null
		}
	}
	for _, idx := range we.Steps {
		for _, k := range idx {
			if k < 0 || int(k) >= we.Rows {
				return Entry{}, fmt.Errorf("row %d of %d", k, we.Rows)
			}
		}
	}
	return e, nil
}

// orEmpty returns s, or an empty slice for nil: a typed column is told
// by which of its slices is set, and gob reads an empty one as nil.
func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// frameReader passes a gob stream through once it has checked that each
// message fits in what is left of the file: gob allocates a message's
// buffer at its stated length before reading it, which a damaged file
// would have be gigabytes.
type frameReader struct {
	r         *bufio.Reader
	remaining int64 // the file's bytes not yet read
	left      int64 // the current message's bytes not yet read
}

func (f *frameReader) Read(p []byte) (int, error) {
	if f.left == 0 {
		if f.remaining == 0 {
			return 0, io.EOF
		}
		// A message's length is a gob unsigned integer: one byte below
		// 128, else the negated count of the big-endian bytes that
		// follow.
		b, err := f.r.Peek(1)
		if err != nil {
			return 0, cut(err)
		}
		n, size := uint64(b[0]), 1
		if n >= 128 {
			size = 256 - int(b[0]) + 1
			if size > 9 {
				return 0, errors.New("the file is damaged")
			}
			if b, err = f.r.Peek(size); err != nil {
				return 0, cut(err)
			}
			n = 0
			for _, c := range b[1:] {
				n = n<<8 | uint64(c)
			}
		}
		if int64(size) > f.remaining || n > uint64(f.remaining-int64(size)) {
			return 0, errors.New("the file is cut or damaged")
		}
		f.left = int64(size) + int64(n)
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	k, err := f.r.Read(p)
	f.left -= int64(k)
	f.remaining -= int64(k)
	if err == io.EOF && f.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	return k, err
}

func cut(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// value is one value of a mixed column, with its type.
type value struct {
	Type uint8 // valNil...
	I    int64
	U    uint64
	F    float64
	S    string
	T    time.Time
}

const (
	valNil uint8 = iota
	valBool
	valInt
	valInt64
	valInt8
	valInt16
	valInt32
	valUint
	valUint8
	valUint16
	valUint32
	valUint64
	valFloat32
	valFloat64
	valString
	valTime
)

func encodeValue(v any) (value, bool) {
	switch x := v.(type) {
	case nil:
		return value{Type: valNil}, true
	case bool:
		if x {
			return value{Type: valBool, I: 1}, true
		}
		return value{Type: valBool}, true
	case int:
		return value{Type: valInt, I: int64(x)}, true
	case int64:
		return value{Type: valInt64, I: x}, true
	case int8:
		return value{Type: valInt8, I: int64(x)}, true
	case int16:
		return value{Type: valInt16, I: int64(x)}, true
	case int32:
		return value{Type: valInt32, I: int64(x)}, true
	case uint:
		return value{Type: valUint, U: uint64(x)}, true
	case uint8:
		return value{Type: valUint8, U: uint64(x)}, true
	case uint16:
		return value{Type: valUint16, U: uint64(x)}, true
	case uint32:
		return value{Type: valUint32, U: uint64(x)}, true
	case uint64:
		return value{Type: valUint64, U: x}, true
	case float32:
		return value{Type: valFloat32, F: float64(x)}, true
	case float64:
		return value{Type: valFloat64, F: x}, true
	case string:
		return value{Type: valString, S: x}, true
	case time.Time:
		return value{Type: valTime, T: x}, true
	}
	return value{}, false
}

func (v value) decode() (any, bool) {
	switch v.Type {
	case valNil:
		return nil, true
	case valBool:
		return v.I != 0, true
	case valInt:
		return int(v.I), true
	case valInt64:
		return v.I, true
	case valInt8:
		return int8(v.I), true
	case valInt16:
		return int16(v.I), true
	case valInt32:
		return int32(v.I), true
	case valUint:
		return uint(v.U), true
	case valUint8:
		return uint8(v.U), true
	case valUint16:
		return uint16(v.U), true
	case valUint32:
		return uint32(v.U), true
	case valUint64:
		return v.U, true
	case valFloat32:
		return float32(v.F), true
	case valFloat64:
		return v.F, true
	case valString:
		return v.S, true
	case valTime:
		return v.T, true
	}
	return nil, false
}
