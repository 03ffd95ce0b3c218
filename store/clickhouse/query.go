package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/tracehound/tracehound/store"
)

// Query implements store.Querier. q is ClickHouse SQL with positional ?
// arguments, bound client-side (times to the nanosecond, in UTC). The
// query runs with readonly=2 (no writes, settings allowed) and, with a
// timeout, max_execution_time, unless the user's profile is readonly=1,
// which allows no per-query settings. Errors the query's author can fix
// wrap store.ErrQuery.
func (s *Store) Query(ctx context.Context, q string, opts store.QueryOptions, args ...any) (*store.Result, error) {
	s.mu.RLock()
	closed := s.closed
	s.mu.RUnlock()
	if closed {
		return nil, store.ErrClosed
	}
	if strings.ContainsRune(q, 0) {
		return nil, fmt.Errorf("%w: the query contains a NUL byte", store.ErrQuery)
	}
	bound, err := bind(q, args, s.legacy)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrQuery, err)
	}
	if s.legacy {
		bound = legacyRewrite(bound)
	}
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	// Cancelled when the row cap is reached, so that closing the rows does
	// not read the rest of the result.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	res, err := s.run(ctx, stop, bound, opts)
	if err != nil {
		return nil, queryError(ctx, err)
	}
	return res, nil
}

func (s *Store) run(ctx context.Context, stop context.CancelFunc, q string, opts store.QueryOptions) (*store.Result, error) {
	if s.querySettings {
		settings := ch.Settings{"readonly": 2}
		if opts.Timeout > 0 {
			settings["max_execution_time"] = int(math.Ceil(opts.Timeout.Seconds()))
		}
		ctx = ch.Context(ctx, ch.WithSettings(settings))
	}
	rows, err := s.conn.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	cols := rows.ColumnTypes()
	res := &store.Result{Columns: make([]string, len(cols)), Types: make([]string, len(cols)), Rows: [][]any{}}
	dests := make([]any, len(cols))
	for i, c := range cols {
		res.Columns[i] = c.Name()
		res.Types[i] = c.DatabaseTypeName()
		st := c.ScanType()
		if st == nil {
			st = reflect.TypeFor[any]()
		}
		dests[i] = reflect.New(st).Interface()
	}
	truncated := false
	for rows.Next() {
		if opts.MaxRows > 0 && len(res.Rows) == opts.MaxRows {
			truncated = true
			break
		}
		if err := rows.Scan(dests...); err != nil {
			rows.Close()
			return nil, err
		}
		row := make([]any, len(cols))
		for i, d := range dests {
			row[i] = plainValue(reflect.ValueOf(d).Elem().Interface())
		}
		res.Rows = append(res.Rows, row)
	}
	if truncated {
		res.Truncated = true
		// Cancel the rest of the query before Close drains it.
		stop()
		rows.Close()
		return res, nil
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, err
	}
	return res, nil
}

// operational are server error codes that say nothing about the query's
// text: the query may succeed when retried.
var operational = map[int32]bool{
	159: true, // TIMEOUT_EXCEEDED
	160: true, // TOO_SLOW
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203: true, // NO_FREE_CONNECTION
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	241: true, // MEMORY_LIMIT_EXCEEDED
	242: true, // TABLE_IS_READ_ONLY
	394: true, // QUERY_WAS_CANCELLED
	425: true, // SYSTEM_ERROR
	999: true, // KEEPER_EXCEPTION
}

// queryError wraps the errors a query's author can fix in store.ErrQuery
// and turns cancellations and timeouts into context errors.
func queryError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("query: %w", ctxErr)
	}
	// clickhouse-go sets the context's deadline on the socket, which may
	// fire a moment before the context's own timer.
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return fmt.Errorf("query: %v: %w", err, context.DeadlineExceeded)
	}
	var ex *ch.Exception
	if errors.As(err, &ex) {
		msg := ex.Message
		if ex.Code == 159 {
			return fmt.Errorf("query: %s: %w", msg, context.DeadlineExceeded)
		}
		if operational[ex.Code] {
			return fmt.Errorf("query: clickhouse error %d: %s", ex.Code, msg)
		}
		return fmt.Errorf("%w: %s", store.ErrQuery, msg)
	}
	return fmt.Errorf("query: %w", err)
}

// plainValue converts what clickhouse-go scans into the scalars of
// store.Result: int64 for signed and uint64 for unsigned integers, float64,
// string (also for UUIDs, IP addresses, enums and FixedString), bool,
// (Array(UInt8), which scans as []byte, is a list like any array),
// time.Time in UTC, nil for NULL, []any for arrays and tuples and
// map[string]any for maps; decimals become float64 and wide integers
// int64 or uint64 when they fit, else their decimal string.
func plainValue(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string, bool, int64, uint64, float64:
		return x
	case int:
		return int64(x)
	case int8:
		return int64(x)
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case uint:
		return uint64(x)
	case uint8:
		return uint64(x)
	case uint16:
		return uint64(x)
	case uint32:
		return uint64(x)
	case float32:
		return float64(x)
	case time.Time:
		return x.UTC()
	case big.Int:
		return bigValue(&x)
	case *big.Int:
		if x == nil {
			return nil
		}
		return bigValue(x)
	case net.IP:
		if x == nil {
			return nil
		}
		return x.String()
	case netip.Addr:
		return x.String()
	case interface{ InexactFloat64() float64 }: // decimal.Decimal
		return x.InexactFloat64()
	case fmt.Stringer: // uuid.UUID and the like
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return nil
		}
		if rv := reflect.ValueOf(v); rv.Kind() != reflect.Struct && rv.Kind() != reflect.Array && rv.Kind() != reflect.Pointer {
			break
		}
		return x.String()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			return nil
		}
		return plainValue(rv.Elem().Interface())
	case reflect.Slice:
		if rv.IsNil() {
			return []any{}
		}
		fallthrough
	case reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = plainValue(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			k := plainValue(it.Key().Interface())
			ks, ok := k.(string)
			if !ok {
				ks = fmt.Sprint(k)
			}
			out[ks] = plainValue(it.Value().Interface())
		}
		return out
	case reflect.String:
		return rv.String()
	case reflect.Bool:
		return rv.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint()
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	case reflect.Struct:
		out := make([]any, rv.NumField())
		for i := range out {
			if !rv.Type().Field(i).IsExported() {
				return fmt.Sprint(v)
			}
			out[i] = plainValue(rv.Field(i).Interface())
		}
		return out
	}
	return fmt.Sprint(v)
}

func bigValue(x *big.Int) any {
	switch {
	case x.IsInt64():
		return x.Int64()
	case x.IsUint64():
		return x.Uint64()
	}
	return x.String()
}
