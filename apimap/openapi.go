package apimap

import (
	"cmp"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// ObservedOpenAPI writes what traffic shows of one service's API as an
// OpenAPI 3.0 document: every endpoint of the service with requests in the
// inventory (not the unused documented ones, nor the overflow template),
// with typed path and query parameters, the status codes answered, the
// function tags as OpenAPI tags, the documented operationId when there is
// one, and under x-tracehound what the API map knows (hits, first and last
// seen, documented, shadow, auth, sensitivity, risk). The document is built
// from the inventory alone, so the same inventory gives the same document.
func ObservedOpenAPI(inv *Inventory, service string) *openapi3.T {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{
			Title:   service + " (observed)",
			Version: inv.Until.UTC().Format(time.DateOnly),
		},
		Paths: openapi3.NewPaths(),
	}
	var requests int64
	usedIDs := map[string]bool{}
	for i := range inv.Endpoints {
		e := &inv.Endpoints[i]
		if e.Service != service || e.Hits == 0 || e.Template == OverflowTemplate {
			continue
		}
		requests += e.Hits
		item := doc.Paths.Value(e.Template)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(e.Template, item)
		}
		item.SetOperation(e.Method, observedOperation(e, usedIDs))
	}
	doc.Info.Description = fmt.Sprintf("The API of %s as tracehound observed it: %d requests from %s to %s. "+
		"Each operation's x-tracehound holds what its traffic shows.",
		service, requests, inv.Since.UTC().Format(time.RFC3339), inv.Until.UTC().Format(time.RFC3339))
	return doc
}

func observedOperation(e *Endpoint, usedIDs map[string]bool) *openapi3.Operation {
	op := openapi3.NewOperation()
	op.OperationID = uniqueOperationID(cmp.Or(e.OperationID, operationID(e.Method, e.Template)), usedIDs)
	for _, t := range e.Tags {
		op.Tags = append(op.Tags, string(t))
	}
	for _, p := range e.PathParams {
		op.AddParameter(openapi3.NewPathParameter(p.Name).WithSchema(kindSchema(p.Kind)))
	}
	for _, q := range e.QueryParams {
		schema := &openapi3.Schema{Type: &openapi3.Types{q.Type}, Format: q.Format}
		param := openapi3.NewQueryParameter(q.Name).WithSchema(schema)
		param.Description = fmt.Sprintf("Sent in %d of %d requests.", q.Hits, e.Hits)
		op.AddParameter(param)
	}
	op.Responses = openapi3.NewResponses()
	for code := range e.Status.Codes {
		if code <= 0 {
			continue
		}
		desc := http.StatusText(code)
		if desc == "" {
			desc = "Status " + strconv.Itoa(code)
		}
		op.Responses.Set(strconv.Itoa(code), &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription(desc)})
	}
	if op.Responses.Len() == 0 {
		op.Responses.Set("default", &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("No status code observed")})
	}
	sensitivity := make([]string, len(e.Sensitivity))
	for i, s := range e.Sensitivity {
		sensitivity[i] = string(s)
	}
	op.Extensions = map[string]any{"x-tracehound": map[string]any{
		"endpoint_id": e.ID,
		"hits":        e.Hits,
		"first_seen":  e.FirstSeen.UTC().Format(time.RFC3339),
		"last_seen":   e.LastSeen.UTC().Format(time.RFC3339),
		"documented":  e.Documented,
		"shadow":      e.Shadow,
		"auth":        string(e.Auth.State),
		"sensitivity": sensitivity,
		"risk_score":  e.RiskScore,
	}}
	return op
}

// kindSchema types a path parameter from the kind of its values.
func kindSchema(k SegmentKind) *openapi3.Schema {
	switch k {
	case KindInt:
		return openapi3.NewInt64Schema()
	case KindUUID:
		return openapi3.NewUUIDSchema()
	case KindEmail:
		return openapi3.NewStringSchema().WithFormat("email")
	case KindDate:
		return openapi3.NewStringSchema().WithFormat("date")
	}
	return openapi3.NewStringSchema()
}

// operationID names an operation after its method and template:
// GET /v1/documents/{id} is get_v1_documents_id.
func operationID(method, template string) string {
	var sb strings.Builder
	sb.WriteString(strings.ToLower(method))
	for _, r := range template {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			sb.WriteRune(r)
		case r == '/' || r == '-' || r == '_' || r == '.':
			if !strings.HasSuffix(sb.String(), "_") {
				sb.WriteByte('_')
			}
		}
	}
	return strings.TrimSuffix(sb.String(), "_")
}

// uniqueOperationID suffixes _2, _3... to an id already used.
func uniqueOperationID(id string, used map[string]bool) string {
	out := id
	for n := 2; used[out]; n++ {
		out = id + "_" + strconv.Itoa(n)
	}
	used[out] = true
	return out
}
