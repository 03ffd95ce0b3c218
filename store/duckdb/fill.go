package duckdb

/*
#include <stdint.h>

// Declarations from duckdb.h (DuckDB's stable C API); the library itself is
// linked through github.com/duckdb/duckdb-go-bindings.
typedef uint64_t idx_t;
typedef struct _duckdb_vector { void *internal_ptr; } *duckdb_vector;
void duckdb_unsafe_vector_assign_string_element_len(duckdb_vector vector, idx_t index, const char *str, idx_t str_len);

// th_fill_strings copies n strings, stored back to back in data with
// offs[i]..offs[i+1] delimiting string i, into rows 0..n-1 of a VARCHAR
// vector: one call from Go per column instead of one per value.
static void th_fill_strings(void *vector, const char *data, const uint32_t *offs, idx_t n) {
	duckdb_vector v = (duckdb_vector)vector;
	for (idx_t i = 0; i < n; i++) {
		duckdb_unsafe_vector_assign_string_element_len(v, i, data + offs[i], (idx_t)(offs[i + 1] - offs[i]));
	}
}
*/
import "C"

import (
	"unsafe"

	mapping "github.com/duckdb/duckdb-go-bindings"
)

// stringColumn collects one VARCHAR column of a chunk in Go memory that
// holds no pointers, so that it can be handed to C in one call.
type stringColumn struct {
	data []byte
	offs []uint32 // len = rows+1; offs[0] = 0
}

func (c *stringColumn) reset() {
	c.data = c.data[:0]
	c.offs = append(c.offs[:0], 0)
}

func (c *stringColumn) add(s string) {
	c.data = append(c.data, s...)
	c.offs = append(c.offs, uint32(len(c.data)))
}

func (c *stringColumn) addBytes(b []byte) {
	c.data = append(c.data, b...)
	c.offs = append(c.offs, uint32(len(c.data)))
}

// fill copies the column into vector v. Strings must be valid UTF-8 (the
// span normaliser guarantees it), so DuckDB's check is skipped.
func (c *stringColumn) fill(v mapping.Vector) {
	n := len(c.offs) - 1
	if n == 0 {
		return
	}
	var data *C.char
	if len(c.data) > 0 {
		data = (*C.char)(unsafe.Pointer(&c.data[0]))
	}
	C.th_fill_strings(v.Ptr, data, (*C.uint32_t)(unsafe.Pointer(&c.offs[0])), C.idx_t(n))
}
