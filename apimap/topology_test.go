package apimap

import (
	"fmt"
	"strings"
	"testing"
)

func TestTopology(t *testing.T) {
	ep := func(service, method, template string, hits int64, risk int) Endpoint {
		return Endpoint{ID: EndpointID(service, method, template), Service: service, Method: method, Template: template, Hits: hits, RiskScore: risk}
	}
	root := Topology([]Endpoint{
		ep("docs", "GET", "/v1/documents", 100, 10),
		ep("docs", "GET", "/v1/documents/{id}", 300, 20),
		ep("docs", "DELETE", "/v1/documents/{id}", 5, 30),
		ep("docs", "GET", "/v1/admin/export", 47, 100),
		ep("docs", "GET", "/", 1, 0),
		ep("billing", "GET", "/invoices/{invoice_id}/lines", 7, 40),
	})
	var lines []string
	var walk func(n *TopologyNode, depth int)
	walk = func(n *TopologyNode, depth int) {
		lines = append(lines, fmt.Sprintf("%s%s %s %d %d", strings.Repeat("  ", depth), n.Kind, n.Name, n.Hits, n.RiskScore))
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(root, 0)
	want := `root api 460 100
  service billing 7 40
    prefix invoices/{invoice_id}/lines 7 40
      endpoint GET /invoices/{invoice_id}/lines 7 40
  service docs 453 100
    endpoint GET / 1 0
    prefix v1 452 100
      prefix admin/export 47 100
        endpoint GET /v1/admin/export 47 100
      prefix documents 405 30
        endpoint GET /v1/documents 100 10
        prefix {id} 305 30
          endpoint DELETE /v1/documents/{id} 5 30
          endpoint GET /v1/documents/{id} 300 20`
	if got := strings.Join(lines, "\n"); got != want {
		t.Errorf("Topology:\n%s\nwant\n%s", got, want)
	}
	leaf := root.Children[1].Children[1].Children[0].Children[0]
	if leaf.ID != EndpointID("docs", "GET", "/v1/admin/export") || leaf.Method != "GET" || leaf.Path != "/v1/admin/export" {
		t.Errorf("endpoint node = %+v, want its id, method and template", leaf)
	}
}
