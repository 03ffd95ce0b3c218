package duckdb

import (
	"encoding/binary"
	"errors"
	"time"
	"unsafe"

	"github.com/tracehound/tracehound/span"
)

// A record is the write-ahead log's encoding of one Write: the spans as
// the normaliser produced them, in a compact binary form. Resource
// attributes shared with the previous span are written once.

var errCorruptRecord = errors.New("corrupt write-ahead log record")

// appendRecord encodes spans after dst.
func appendRecord(dst []byte, spans []span.Span) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(spans)))
	var prevRes []span.Attr
	for i := range spans {
		s := &spans[i]
		dst = binary.AppendVarint(dst, s.Timestamp.UnixNano())
		for _, str := range [...]string{s.TraceID, s.SpanID, s.ParentSpanID, s.ServiceName, s.SpanName, s.SpanKind,
			s.OtelStatus, s.HTTPMethod, s.HTTPTarget, s.HTTPPath, s.HTTPQuery, s.HTTPRoute, s.PeerIP, s.NetPeerIP,
			s.ServerAddress, s.UserAgent, s.UserID, s.APIKeyID} {
			dst = appendString(dst, str)
		}
		dst = binary.AppendUvarint(dst, s.DurationNS)
		dst = binary.AppendUvarint(dst, uint64(s.StatusCode))
		dst = binary.AppendVarint(dst, s.RequestBytes)
		dst = binary.AppendVarint(dst, s.ResponseBytes)
		dst = appendAttrs(dst, s.SpanAttributes)
		if i > 0 && sameAttrs(prevRes, s.ResourceAttributes) {
			dst = append(dst, 0)
		} else {
			dst = append(dst, 1)
			dst = appendAttrs(dst, s.ResourceAttributes)
		}
		prevRes = s.ResourceAttributes
	}
	return dst
}

// sameAttrs reports whether a and b are the same slice (the normaliser
// shares one resource's attributes among its spans).
func sameAttrs(a, b []span.Attr) bool {
	return len(a) == len(b) && (len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b))
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendAttrs(dst []byte, attrs []span.Attr) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(attrs)))
	for _, a := range attrs {
		dst = appendString(dst, a.Key)
		dst = appendString(dst, a.Value)
	}
	return dst
}

// decodeRecord decodes a record; it never panics on corrupt input.
func decodeRecord(b []byte) ([]span.Span, error) {
	d := decoder{b: b}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(b)) {
		return nil, errCorruptRecord
	}
	spans := make([]span.Span, n)
	var prevRes []span.Attr
	for i := range spans {
		s := &spans[i]
		s.Timestamp = time.Unix(0, d.varint()).UTC()
		for _, p := range [...]*string{&s.TraceID, &s.SpanID, &s.ParentSpanID, &s.ServiceName, &s.SpanName, &s.SpanKind,
			&s.OtelStatus, &s.HTTPMethod, &s.HTTPTarget, &s.HTTPPath, &s.HTTPQuery, &s.HTTPRoute, &s.PeerIP, &s.NetPeerIP,
			&s.ServerAddress, &s.UserAgent, &s.UserID, &s.APIKeyID} {
			*p = d.string()
		}
		s.DurationNS = d.uvarint()
		status := d.uvarint()
		if status > 0xffff {
			return nil, errCorruptRecord
		}
		s.StatusCode = uint16(status)
		s.RequestBytes = d.varint()
		s.ResponseBytes = d.varint()
		s.SpanAttributes = d.attrs()
		switch d.byte() {
		case 0:
			if i == 0 {
				return nil, errCorruptRecord
			}
			s.ResourceAttributes = prevRes
		case 1:
			s.ResourceAttributes = d.attrs()
		default:
			return nil, errCorruptRecord
		}
		prevRes = s.ResourceAttributes
		if d.err != nil {
			return nil, d.err
		}
	}
	if len(d.b) != 0 {
		return nil, errCorruptRecord
	}
	return spans, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err, d.b = errCorruptRecord, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err, d.b = errCorruptRecord, nil
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.err = errCorruptRecord
		return 0xff
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err, d.b = errCorruptRecord, nil
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) attrs() []span.Attr {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err, d.b = errCorruptRecord, nil
		return nil
	}
	out := make([]span.Attr, n)
	for i := range out {
		out[i].Key = d.string()
		out[i].Value = d.string()
	}
	return out
}
