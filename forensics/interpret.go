package forensics

import (
	"fmt"
	"strings"
)

// Interpret describes an IR in plain words, e.g. "Count distinct values of
// query parameter collection_id on /v1/admin/export, status 2xx, last 7 days".
// bucket is the timeline bucket of timeline questions.
func Interpret(ir *IR, bucket string) string {
	var b strings.Builder
	switch ir.Intent {
	case IntentList:
		b.WriteString("List requests")
	case IntentCount:
		b.WriteString("Count requests")
	case IntentCountDistinct:
		b.WriteString("Count distinct " + dimWords(ir.Measure.Of, true))
	case IntentSum, IntentAvg, IntentMax:
		b.WriteString(map[Intent]string{IntentSum: "Total ", IntentAvg: "Average ", IntentMax: "Maximum "}[ir.Intent] + measureWords(ir.Measure.Kind))
	case IntentTop:
		fmt.Fprintf(&b, "Top %d", ir.Limit)
	case IntentRate:
		b.WriteString("Share of requests with " + filterWords(*ir.Rate))
	case IntentTimeline:
		b.WriteString("Requests per " + bucket)
	}
	if len(ir.GroupBy) > 0 {
		var ds []string
		for _, d := range ir.GroupBy {
			ds = append(ds, dimWords(d, false))
		}
		if ir.Intent == IntentTop {
			fmt.Fprintf(&b, " %s by %s", strings.Join(ds, " and "), measureWords(ir.Measure.Kind))
		} else {
			b.WriteString(" per " + strings.Join(ds, " and "))
		}
	}
	for _, f := range ir.Filters {
		b.WriteString(", " + filterWords(f))
	}
	b.WriteString(", " + ir.Window.Words())
	return b.String()
}

func dimWords(d Dimension, plural bool) string {
	if d.Kind == DimParam {
		if plural {
			return "values of query parameter " + d.Param
		}
		return "query parameter " + d.Param
	}
	w := map[DimKind][2]string{
		DimIP: {"client IP", "client IPs"}, DimAPIKey: {"API key", "API keys"}, DimAccount: {"account", "accounts"},
		DimEndpoint: {"endpoint", "endpoints"}, DimStatus: {"status code", "status codes"}, DimMethod: {"method", "methods"},
		DimUserAgent: {"user agent", "user agents"}, DimService: {"service", "services"}, DimCountry: {"country", "countries"},
		DimASN: {"ASN", "ASNs"}, DimDay: {"day", "days"}, DimHour: {"hour", "hours"},
	}[d.Kind]
	if plural {
		return w[1]
	}
	return w[0]
}

func measureWords(m MeasureKind) string {
	switch m {
	case MeasureResponseBytes:
		return "bytes downloaded (response_bytes)"
	case MeasureRequestBytes:
		return "bytes uploaded (request_bytes)"
	case MeasureLatency:
		return "latency (ms)"
	}
	return "requests"
}

func filterWords(f Filter) string {
	var s string
	switch f.Field {
	case FieldEndpoint:
		switch f.Op {
		case OpTemplate:
			s = "on " + strings.Join(f.Values, " or ")
		case OpGlob:
			s = "on paths matching " + f.Value
		default:
			s = "on paths ending in " + f.Value
		}
	case FieldMethod:
		s = "method " + f.Value
	case FieldStatus:
		switch f.Op {
		case OpClass:
			s = "status " + f.Value
		case OpGe:
			if f.Value == "400" {
				s = "failed (status ≥ 400)"
			} else {
				s = "status ≥ " + f.Value
			}
		default:
			s = "status " + string(f.Op) + " " + f.Value
			if f.Op == OpEq {
				s = "status " + f.Value
			}
		}
	case FieldIP:
		s = "from " + f.Value
	case FieldAPIKey:
		s = "API key " + f.Value
	case FieldAccount:
		s = "account " + f.Value
	case FieldService:
		s = "service " + f.Value
	case FieldUserAgent:
		s = fmt.Sprintf("user agent containing %q", f.Value)
	case FieldCountry:
		s = "country " + f.Value
	case FieldASN:
		s = "AS" + f.Value
	case FieldParam:
		s = "query parameter " + f.Param + " " + string(f.Op) + " " + f.Value
	}
	if f.Negate {
		s = "excluding " + s
	}
	return s
}
