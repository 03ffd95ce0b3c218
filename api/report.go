package api

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/report"
)

// ReportBackend serves incident reports.
type ReportBackend interface {
	// IncidentReport investigates an incident and assembles its report.
	IncidentReport(ctx context.Context, id int64) (*report.Incident, error)
}

func (s *Server) routeReports(b ReportBackend) {
	// GET /api/v1/incidents/{id}/report?format=json|md|html
	s.handle("GET /api/v1/incidents/{id}/report", auth.RoleViewer, func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			writeError(w, s.log, fmt.Errorf("%w: incident id %q", ErrBadRequest, r.PathValue("id")))
			return
		}
		format := r.URL.Query().Get("format")
		if format != "" && format != "json" && format != "md" && format != "html" {
			writeError(w, s.log, fmt.Errorf("%w: format=%q: want json, md or html", ErrBadRequest, format))
			return
		}
		rep, err := b.IncidentReport(r.Context(), id)
		if err != nil {
			writeError(w, s.log, err)
			return
		}
		switch format {
		case "md":
			w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
			report.Markdown(w, rep)
		case "html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
			report.HTML(w, rep)
		default:
			writeJSON(w, http.StatusOK, rep)
		}
	})
}

// IncidentReport implements ReportBackend.
func (c *Client) IncidentReport(ctx context.Context, id int64) (*report.Incident, error) {
	var res report.Incident
	return &res, c.do(ctx, http.MethodGet, "/api/v1/incidents/"+strconv.FormatInt(id, 10)+"/report", nil, &res)
}
