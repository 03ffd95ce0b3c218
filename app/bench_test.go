package app_test

import (
	"bytes"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// benchBody is an OTLP protobuf export request of n server spans with about
// 20 attributes each: the HTTP semantic conventions plus application ones.
func benchBody(b *testing.B, seed, n int) []byte {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "bench-api")
	rs.Resource().Attributes().PutStr("service.version", "1.0.0")
	ss := rs.ScopeSpans().AppendEmpty()
	now := time.Now()
	for i := range n {
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID([16]byte{byte(seed), byte(seed >> 8), byte(i), byte(i >> 8), 1})
		sp.SetSpanID([8]byte{byte(seed), byte(i), byte(i >> 8), 1})
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetName("GET /v1/documents/{id}")
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(now))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Millisecond)))
		a := sp.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("url.path", fmt.Sprintf("/v1/documents/%d", i*7919%100000))
		a.PutStr("url.query", "page=2&limit=50")
		a.PutStr("url.scheme", "https")
		a.PutStr("http.route", "/v1/documents/{id}")
		a.PutInt("http.response.status_code", 200)
		a.PutStr("client.address", fmt.Sprintf("203.0.113.%d", i%250))
		a.PutStr("network.peer.address", "10.0.0.4")
		a.PutInt("network.peer.port", int64(40000+i))
		a.PutStr("server.address", "api.example.test")
		a.PutInt("server.port", 443)
		a.PutStr("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64)")
		a.PutInt("http.response.body.size", int64(1000+i))
		a.PutStr("network.protocol.version", "1.1")
		a.PutStr("app.api_key_id", fmt.Sprintf("dvk_%04d", i%500))
		a.PutStr("enduser.id", fmt.Sprintf("acct_%04d", i%500))
		a.PutStr("app.account.plan", "enterprise")
		a.PutStr("app.region", "eu-west-1")
		a.PutStr("app.tenant", "t-42")
		a.PutStr("app.request_id", fmt.Sprintf("req-%08d", i))
	}
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		b.Fatal(err)
	}
	return body
}

// BenchmarkOTLPIngest measures acknowledged spans per second through the
// in-process OTLP/HTTP receiver into DuckDB: 2 clients, 512-span requests.
func BenchmarkOTLPIngest(b *testing.B) {
	s := startB(b)
	url := "http://" + s.OTLPHTTPAddr() + "/v1/traces"
	bodies := make([][]byte, 16)
	for i := range bodies {
		bodies[i] = benchBody(b, i, 512)
	}
	const clients = 2
	b.ResetTimer()
	var wg sync.WaitGroup
	next := make(chan int)
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				resp, err := http.Post(url, "application/x-protobuf", bytes.NewReader(bodies[i%len(bodies)]))
				if err != nil {
					b.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Errorf("status %d", resp.StatusCode)
				}
			}
		}()
	}
	for i := 0; i < b.N; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	b.ReportMetric(float64(b.N*512)/b.Elapsed().Seconds(), "spans/s")
}
