package apimap

import (
	"cmp"
	"slices"
	"strings"
)

// TopologyNode is one node of the API map's circle pack: the root, a
// service, a path prefix or an endpoint. A node's Hits are its endpoints'
// requests (the circle's size) and its RiskScore their highest score (the
// circle's colour). Children are ordered by name.
type TopologyNode struct {
	// Kind is root, service, prefix or endpoint.
	Kind string `json:"kind"`
	// Name is what the UI writes on the circle: the service, the prefix's
	// segments ("v1/documents"), or the endpoint's method and template.
	Name string `json:"name"`
	// Path is a prefix's path, or an endpoint's template.
	Path      string `json:"path,omitempty"`
	Hits      int64  `json:"hits"`
	RiskScore int    `json:"risk_score"`
	// The endpoint's id, method and flags; set on endpoints only.
	ID       string          `json:"id,omitempty"`
	Method   string          `json:"method,omitempty"`
	Shadow   bool            `json:"shadow,omitempty"`
	Zombie   bool            `json:"zombie,omitempty"`
	New      bool            `json:"new,omitempty"`
	Children []*TopologyNode `json:"children,omitempty"`
}

// Node kinds.
const (
	NodeRoot     = "root"
	NodeService  = "service"
	NodePrefix   = "prefix"
	NodeEndpoint = "endpoint"
)

// Topology arranges endpoints as a tree for a circle pack: services, then
// one prefix node per template segment, then the endpoints, each under the
// prefix of its whole template (so GET and DELETE /documents/{id} share
// the /documents/{id} node). A prefix node with a single prefix child and
// no endpoint of its own merges with that child ("v1/documents"), so that
// deep, narrow paths do not nest circles in circles.
func Topology(endpoints []Endpoint) *TopologyNode {
	root := &TopologyNode{Kind: NodeRoot, Name: "api"}
	services := map[string]*TopologyNode{}
	for i := range endpoints {
		e := &endpoints[i]
		svc := services[e.Service]
		if svc == nil {
			svc = &TopologyNode{Kind: NodeService, Name: e.Service}
			services[e.Service] = svc
			root.Children = append(root.Children, svc)
		}
		parent := svc
		path := ""
		for seg := range strings.SplitSeq(strings.Trim(e.Template, "/"), "/") {
			if seg == "" {
				continue
			}
			path += "/" + seg
			parent = childPrefix(parent, seg, path)
		}
		parent.Children = append(parent.Children, &TopologyNode{
			Kind: NodeEndpoint, Name: e.Method + " " + e.Template, Path: e.Template, ID: e.ID, Method: e.Method,
			Hits: e.Hits, RiskScore: e.RiskScore, Shadow: e.Shadow, Zombie: e.Zombie, New: e.New,
		})
	}
	for _, svc := range root.Children {
		svc.Children = compact(svc.Children)
	}
	sum(root)
	return root
}

func childPrefix(parent *TopologyNode, seg, path string) *TopologyNode {
	for _, c := range parent.Children {
		if c.Kind == NodePrefix && c.Path == path {
			return c
		}
	}
	c := &TopologyNode{Kind: NodePrefix, Name: seg, Path: path}
	parent.Children = append(parent.Children, c)
	return c
}

// compact merges each prefix node that has a single child, itself a
// prefix, into that child, all the way down.
func compact(nodes []*TopologyNode) []*TopologyNode {
	for i, n := range nodes {
		for n.Kind == NodePrefix && len(n.Children) == 1 && n.Children[0].Kind == NodePrefix {
			only := n.Children[0]
			only.Name = n.Name + "/" + only.Name
			n = only
		}
		n.Children = compact(n.Children)
		nodes[i] = n
	}
	return nodes
}

// sum fills in the hits and risk of inner nodes and orders children.
func sum(n *TopologyNode) {
	if n.Kind == NodeEndpoint {
		return
	}
	n.Hits, n.RiskScore = 0, 0
	for _, c := range n.Children {
		sum(c)
		n.Hits += c.Hits
		n.RiskScore = max(n.RiskScore, c.RiskScore)
	}
	slices.SortFunc(n.Children, func(a, b *TopologyNode) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Method, b.Method))
	})
}
