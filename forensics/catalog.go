package forensics

import (
	"slices"

	"github.com/tracehound/tracehound/apimap"
)

// Endpoint is one observed endpoint as the parser sees it.
type Endpoint struct {
	Service string
	// Method is the HTTP method in upper case.
	Method string
	// Template is the path template, e.g. /v1/documents/{id}.
	Template string
	// QueryParams are the names of the query parameters seen on it.
	QueryParams []string
}

// Catalog gives the parser the endpoints and query parameters actually
// observed in traffic, so that "collection IDs" or "/admin/export" resolve
// against real names rather than a guess.
type Catalog interface {
	// Endpoints returns the observed endpoints. The caller must not modify
	// the returned slice. An empty result is valid: the parser then keeps
	// paths as written and refuses parameter phrases it cannot resolve.
	Endpoints() []Endpoint
}

// StaticCatalog is a Catalog over a fixed list of endpoints.
type StaticCatalog []Endpoint

var _ Catalog = StaticCatalog(nil)

// Endpoints implements Catalog.
func (c StaticCatalog) Endpoints() []Endpoint { return c }

// CatalogFromInventory returns the endpoints of an API map inventory with
// their observed query parameter names. A nil inventory gives an empty
// catalog.
func CatalogFromInventory(inv *apimap.Inventory) StaticCatalog {
	if inv == nil {
		return nil
	}
	out := make(StaticCatalog, 0, len(inv.Endpoints))
	for _, e := range inv.Endpoints {
		ep := Endpoint{Service: e.Service, Method: e.Method, Template: e.Template}
		for _, p := range e.QueryParams {
			ep.QueryParams = append(ep.QueryParams, p.Name)
		}
		slices.Sort(ep.QueryParams)
		out = append(out, ep)
	}
	return out
}
