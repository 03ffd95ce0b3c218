package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tracehound/tracehound/auth"
	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/detect"
)

// IPBackend serves IP intelligence and containment: the monitored IP
// records, their status changes (undoable), enrichment, the blocklist
// exports and the CrowdSec bouncers that pull the blocked set. The acting
// principal is the context's (auth.FromContext).
type IPBackend interface {
	// IPs lists one page of IP records that pass q, with the total that
	// pass; the list is empty (not nil) when none does.
	IPs(ctx context.Context, q IPQuery) (*IPList, error)
	// IP describes one address or range: its record (Tracked false when
	// there is none), the statuses of the ranges that cover it, its
	// history, newest first, and its traffic over window (0: 7 days).
	IP(ctx context.Context, ip string, window time.Duration) (*IPDetail, error)
	// SetIPStatus sets a status on addresses and ranges in one undoable
	// change. A reason is required to block or trust.
	SetIPStatus(ctx context.Context, req IPStatusRequest) (*IPStatusResult, error)
	// UndoIPChange reverts a change in a new change.
	UndoIPChange(ctx context.Context, changeID int64) (*IPUndoResult, error)
	// EnrichIPs enriches up to MaxEnrichPerCall addresses (ranges are
	// expanded), stores each record's enrichment (creating monitoring
	// records for addresses without one) and refreshes their traffic
	// statistics; records come back in the order given.
	EnrichIPs(ctx context.Context, req EnrichRequest) (*EnrichResult, error)
	// AnalyseIPs runs the behavioural detectors over the addresses req
	// names and those of the stored records it selects (range records
	// are skipped and counted), at most MaxAnalysePerCall in all, in
	// chunks, calling req.Progress after each. Every address with
	// requests in the window is tagged with its verdict
	// ("detector:malicious") and gets the configured detector response;
	// one without keeps its earlier verdict. A selection that matches
	// nothing answers an empty result, not an error.
	AnalyseIPs(ctx context.Context, req AnalyseRequest) (*AnalyseResult, error)
	// Blocklist renders the effective blocklist in one of the contain
	// formats (plain, nginx, nginx-geo, ipset, nftables, aws-wafv2,
	// cloudflare).
	Blocklist(ctx context.Context, format string) (*BlocklistExport, error)
	// Bouncers lists the registered CrowdSec bouncers, ordered by name.
	Bouncers(ctx context.Context) (*BouncerList, error)
	// AddBouncer registers a bouncer; its key is in the answer, once.
	AddBouncer(ctx context.Context, name string) (*BouncerCreated, error)
	// DeleteBouncer removes a bouncer; its key stops working at once.
	DeleteBouncer(ctx context.Context, name string) error
}

// MaxEnrichPerCall bounds the addresses of one enrichment request.
const MaxEnrichPerCall = 10_000

// Bounds of an analysis: the addresses of one request, and the flagged
// addresses its answer lists.
const (
	MaxAnalysePerCall = 100_000
	AnalyseFlaggedMax = 1000
)

// IP list paging.
const (
	IPListDefault = 100
	IPListMax     = 1000
)

// IPQuery filters and orders GET /api/v1/ips. Empty fields do not filter.
type IPQuery struct {
	// Statuses keeps records with one of these statuses.
	Statuses []string
	Tag      string
	Source   string
	// Within keeps records inside this range; Containing those whose
	// range contains this address or range.
	Within     string
	Containing string
	// Text searches values, notes, reasons and tags.
	Text string
	// Expiring keeps records whose status expires within this duration.
	Expiring time.Duration
	// Sort is a state.IPSortKeys key (default value); Desc reverses it.
	Sort string
	Desc bool
	// Limit is the page size (default IPListDefault, at most IPListMax);
	// Offset skips records.
	Limit  int
	Offset int
}

// IPState is the changeable part of an IP record, as history shows it.
type IPState struct {
	Status    string    `json:"status"`
	Reason    string    `json:"reason,omitempty"`
	Source    string    `json:"source,omitempty"`
	Severity  int       `json:"severity,omitempty"`
	Tags      []string  `json:"tags"`
	Notes     string    `json:"notes,omitempty"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// IPRecord is one monitored address or range.
type IPRecord struct {
	// IP is the canonical address, or a range in CIDR notation.
	IP        string    `json:"ip"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason"`
	Source    string    `json:"source"`
	Severity  int       `json:"severity"`
	Tags      []string  `json:"tags"`
	Notes     string    `json:"notes"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	CreatedBy string    `json:"created_by"`
	UpdatedBy string    `json:"updated_by"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
	// Enrichment is the stored ipintel record (JSON); absent until the
	// address is enriched.
	Enrichment json.RawMessage `json:"enrichment,omitempty"`
	EnrichedAt time.Time       `json:"enriched_at,omitzero"`
	// FirstSeen, LastSeen, Requests and Bytes are the traffic stats as
	// last refreshed (by enrichment).
	FirstSeen time.Time `json:"first_seen,omitzero"`
	LastSeen  time.Time `json:"last_seen,omitzero"`
	Requests  int64     `json:"requests"`
	Bytes     int64     `json:"bytes"`
}

// IPList answers GET /api/v1/ips.
type IPList struct {
	IPs   []IPRecord `json:"ips"`
	Total int        `json:"total"`
}

// IPChange is one entry of an IP's history.
type IPChange struct {
	ID       int64          `json:"id"`
	At       time.Time      `json:"at"`
	Actor    string         `json:"actor"`
	Reason   string         `json:"reason"`
	Action   string         `json:"action"`
	Source   string         `json:"source"`
	Shadow   bool           `json:"shadow"`
	UndoOf   int64          `json:"undo_of,omitempty"`
	UndoneBy int64          `json:"undone_by,omitempty"`
	Items    []IPChangeItem `json:"items"`
}

// IPChangeItem is one record's before and after; nil when it did not
// exist, or was deleted.
type IPChangeItem struct {
	IP     string   `json:"ip"`
	Before *IPState `json:"before"`
	After  *IPState `json:"after"`
}

// IPTraffic is what the trace store saw of an address or range within a
// window.
type IPTraffic struct {
	Since         time.Time     `json:"since"`
	Until         time.Time     `json:"until"`
	Requests      int64         `json:"requests"`
	ResponseBytes int64         `json:"response_bytes"`
	RequestBytes  int64         `json:"request_bytes"`
	FirstSeen     time.Time     `json:"first_seen,omitzero"`
	LastSeen      time.Time     `json:"last_seen,omitzero"`
	ClientErrors  int64         `json:"client_errors"`
	ServerErrors  int64         `json:"server_errors"`
	APIKeys       int64         `json:"api_keys"`
	Endpoints     int64         `json:"endpoints"`
	TopEndpoints  []EndpointUse `json:"top_endpoints"`
}

// EndpointUse counts an address's requests to one path.
type EndpointUse struct {
	Method   string `json:"method"`
	Path     string `json:"path"`
	Requests int64  `json:"requests"`
	Bytes    int64  `json:"bytes"`
}

// IPCover is a range record that contains the asked address.
type IPCover struct {
	IP        string    `json:"ip"`
	Status    string    `json:"status"`
	Reason    string    `json:"reason"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// IPDetail answers GET /api/v1/ips/{ip}.
type IPDetail struct {
	IPRecord
	// Tracked is false when the address has no record of its own (then
	// Status is empty); it may still be covered by a range.
	Tracked bool `json:"tracked"`
	// Effective is what enforcement does now: "trusted" or "blocked" when
	// an active record (its own or a covering range's) says so, trusted
	// winning; else the own status, or "none".
	Effective string     `json:"effective"`
	CoveredBy []IPCover  `json:"covered_by"`
	History   []IPChange `json:"history"`
	Traffic   IPTraffic  `json:"traffic"`
}

// IPDetailList is what 'tracehound ip show' prints as JSON.
type IPDetailList struct {
	IPs []IPDetail `json:"ips"`
}

// IPStatusRequest is the body of POST /api/v1/ips/status.
type IPStatusRequest struct {
	IPs    []string `json:"ips"`
	Status string   `json:"status"`
	// For is how long the status lasts ("24h", "7d"); empty means until
	// changed.
	For      string   `json:"for,omitempty"`
	Reason   string   `json:"reason,omitempty"`
	Tags     []string `json:"tags,omitempty"`
	Severity int      `json:"severity,omitempty"`
}

// IPStatusResult answers POST /api/v1/ips/status.
type IPStatusResult struct {
	// ChangeID names the change for undo; 0 when nothing changed.
	ChangeID  int64     `json:"change_id"`
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Changed   []string  `json:"changed"`
	Unchanged []string  `json:"unchanged"`
}

// IPUndoResult answers POST /api/v1/ips/undo/{change}.
type IPUndoResult struct {
	ChangeID int64 `json:"change_id"`
	UndoOf   int64 `json:"undo_of"`
}

// EnrichRequest is the body of POST /api/v1/ips/enrich.
type EnrichRequest struct {
	// IPs are addresses or ranges; ranges are expanded, up to
	// MaxEnrichPerCall addresses in all.
	IPs []string `json:"ips"`
}

// EnrichResult answers POST /api/v1/ips/enrich.
type EnrichResult struct {
	// Records are the ipintel records, one per address, in order.
	Records []json.RawMessage `json:"records"`
	// Created counts the monitoring records created for addresses that
	// had none; StatsUpdated the records whose traffic stats were
	// refreshed.
	Created      int      `json:"created"`
	StatsUpdated int      `json:"stats_updated"`
	Sources      []string `json:"sources"`
	// Warning reports a source configuration problem (such as an invalid
	// AbuseIPDB key); the records are complete otherwise.
	Warning string `json:"warning,omitempty"`
}

// AnalyseRequest is the body of POST /api/v1/ips/analyse: addresses, a
// selection of stored records, or both. An empty selection field does not
// select; a request must name an address or set one of Status, Tag and
// Within.
type AnalyseRequest struct {
	// IPs are single addresses (a range is refused: select the records
	// inside it with Within).
	IPs []string `json:"ips,omitempty"`
	// Status, Tag and Within select the stored records with one of these
	// statuses, with this tag and inside this range, as GET /api/v1/ips
	// filters them.
	Status []string `json:"status,omitempty"`
	Tag    string   `json:"tag,omitempty"`
	Within string   `json:"within,omitempty"`
	// Since starts the window: a duration back from now (24h, 7d) or an
	// RFC 3339 time; default 24h. The window ends now.
	Since string `json:"since,omitempty"`
	// Progress, when set, is called with the addresses analysed so far
	// and their total: once when the total is known, then after each
	// chunk. Over HTTP the server streams it
	// (POST /api/v1/ips/analyse?stream=true).
	Progress func(done, total int) `json:"-"`
}

// AnalyseCounts counts an analysis's verdicts by severity.
type AnalyseCounts struct {
	Malicious    int `json:"malicious"`
	Suspicious   int `json:"suspicious"`
	Inconclusive int `json:"inconclusive"`
	Benign       int `json:"benign"`
}

// AnalysedIP is one flagged address of an analysis.
type AnalysedIP struct {
	IP        string           `json:"ip"`
	Verdict   string           `json:"verdict"`
	Severity  detect.Severity  `json:"severity"`
	Certainty detect.Certainty `json:"certainty"`
	Risk      int              `json:"risk"`
	Requests  int64            `json:"requests"`
	Summary   string           `json:"summary"`
}

// AnalyseResult answers POST /api/v1/ips/analyse.
type AnalyseResult struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Analysed counts the addresses the detectors rated; Counts their
	// verdicts.
	Analysed int           `json:"analysed"`
	Counts   AnalyseCounts `json:"counts"`
	// NoTraffic counts the analysed addresses without a request in the
	// window: rated Inconclusive, and not tagged, so that an earlier
	// verdict stands.
	NoTraffic int `json:"no_traffic"`
	// Flagged lists the malicious and suspicious addresses, riskiest
	// first, at most AnalyseFlaggedMax; FlaggedTotal counts them all.
	Flagged      []AnalysedIP `json:"flagged"`
	FlaggedTotal int          `json:"flagged_total"`
	// SkippedRanges counts the selected range records, which are not
	// analysed; SkippedLocal the loopback, link-local, multicast and
	// unspecified addresses, which automatic actions never touch.
	SkippedRanges int     `json:"skipped_ranges"`
	SkippedLocal  int     `json:"skipped_local"`
	ElapsedMS     float64 `json:"elapsed_ms"`
}

// BlocklistExport is a rendered blocklist.
type BlocklistExport struct {
	Format      string   `json:"format"`
	ContentType string   `json:"content_type"`
	Entries     int      `json:"entries"`
	Exported    int      `json:"exported"`
	LeftOut     int      `json:"left_out"`
	Warnings    []string `json:"warnings"`
	Body        []byte   `json:"-"`
}

// Bouncer is a registered CrowdSec bouncer; its key is never shown again.
type Bouncer struct {
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
	LastPull  time.Time `json:"last_pull,omitzero"`
}

// BouncerList answers GET /api/v1/bouncers.
type BouncerList struct {
	Bouncers []Bouncer `json:"bouncers"`
}

// BouncerRequest is the body of POST /api/v1/bouncers.
type BouncerRequest struct {
	Name string `json:"name"`
}

// BouncerCreated answers POST /api/v1/bouncers; APIKey is shown only here.
type BouncerCreated struct {
	Bouncer Bouncer `json:"bouncer"`
	APIKey  string  `json:"api_key"`
}

// Blocklist response headers: the export's figures and one warning per
// header value.
const (
	HeaderBlocklistEntries  = "X-Tracehound-Entries"
	HeaderBlocklistExported = "X-Tracehound-Exported"
	HeaderBlocklistLeftOut  = "X-Tracehound-Left-Out"
	HeaderBlocklistWarning  = "X-Tracehound-Warning"
)

// decisionsServer is implemented by backends that serve the CrowdSec
// decisions API.
type decisionsServer interface {
	DecisionsHandler() http.Handler
}

func (s *Server) routeIPs(b IPBackend) {
	h := &ipHandlers{b: b, log: s.log}
	s.handle("GET /api/v1/ips", auth.RoleViewer, h.list)
	s.handle("GET /api/v1/ips/{ip}", auth.RoleViewer, h.show)
	s.handle("POST /api/v1/ips/status", auth.RoleAnalyst, h.setStatus)
	s.handle("POST /api/v1/ips/undo/{change}", auth.RoleAnalyst, h.undo)
	s.handle("POST /api/v1/ips/enrich", auth.RoleAnalyst, h.enrich)
	s.handle("POST /api/v1/ips/analyse", auth.RoleAnalyst, h.analyse)
	s.handle("GET /api/v1/blocklist", auth.RoleViewer, h.blocklist)
	s.handle("GET /api/v1/bouncers", auth.RoleAdmin, h.bouncers)
	s.handle("POST /api/v1/bouncers", auth.RoleAdmin, h.addBouncer)
	s.handle("DELETE /api/v1/bouncers/{name}", auth.RoleAdmin, h.deleteBouncer)
	if d, ok := b.(decisionsServer); ok {
		// Bouncers authenticate with their own X-Api-Key, which grants
		// these routes and nothing under /api/.
		dh := d.DecisionsHandler()
		for _, p := range []string{"GET /v1/decisions", "GET /v1/decisions/stream"} {
			s.routes = append(s.routes, Route{Pattern: p, Role: auth.RoleNone})
			s.mux.Handle(p, dh)
		}
	}
}

type ipHandlers struct {
	b   IPBackend
	log *slog.Logger
}

func (h *ipHandlers) list(w http.ResponseWriter, r *http.Request) {
	q, err := parseIPQuery(r.URL.Query())
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.IPs(r.Context(), q)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func parseIPQuery(v url.Values) (IPQuery, error) {
	q := IPQuery{Tag: v.Get("tag"), Source: v.Get("source"), Within: v.Get("within"), Containing: v.Get("containing"),
		Text: v.Get("q"), Sort: v.Get("sort")}
	for _, s := range v["status"] {
		for st := range strings.SplitSeq(s, ",") {
			if st = strings.TrimSpace(st); st != "" {
				q.Statuses = append(q.Statuses, st)
			}
		}
	}
	if s := v.Get("expiring"); s != "" {
		d, err := config.ParseDuration(s)
		if err != nil || d <= 0 {
			return q, fmt.Errorf("%w: expiring=%q: want a positive duration such as 24h or 7d", ErrBadRequest, s)
		}
		q.Expiring = d
	}
	if s := v.Get("desc"); s != "" {
		d, err := strconv.ParseBool(s)
		if err != nil {
			return q, fmt.Errorf("%w: desc=%q: want true or false", ErrBadRequest, s)
		}
		q.Desc = d
	}
	for name, dst := range map[string]*int{"limit": &q.Limit, "offset": &q.Offset} {
		if s := v.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return q, fmt.Errorf("%w: %s=%q: want a number ≥ 0", ErrBadRequest, name, s)
			}
			*dst = n
		}
	}
	return q, nil
}

func (h *ipHandlers) show(w http.ResponseWriter, r *http.Request) {
	var window time.Duration
	if s := r.URL.Query().Get("since"); s != "" {
		d, err := config.ParseDuration(s)
		if err != nil || d <= 0 {
			writeError(w, h.log, fmt.Errorf("%w: since=%q: want a positive duration such as 1h or 7d", ErrBadRequest, s))
			return
		}
		window = d
	}
	res, err := h.b.IP(r.Context(), r.PathValue("ip"), window)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *ipHandlers) setStatus(w http.ResponseWriter, r *http.Request) {
	var req IPStatusRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.SetIPStatus(r.Context(), req)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *ipHandlers) undo(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("change"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, h.log, fmt.Errorf("%w: change id %q: want a positive number", ErrBadRequest, r.PathValue("change")))
		return
	}
	res, err := h.b.UndoIPChange(r.Context(), id)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *ipHandlers) enrich(w http.ResponseWriter, r *http.Request) {
	var req EnrichRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.EnrichIPs(r.Context(), req)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// analyseLine is one line of a streamed analysis: progress reports, then
// the result or an error.
type analyseLine struct {
	Progress *AnalyseProgress `json:"progress,omitempty"`
	Result   *AnalyseResult   `json:"result,omitempty"`
	Error    *errorDetail     `json:"error,omitempty"`
}

// AnalyseProgress is a progress line of a streamed analysis.
type AnalyseProgress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

func (h *ipHandlers) analyse(w http.ResponseWriter, r *http.Request) {
	var req AnalyseRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	if r.URL.Query().Get("stream") != "true" {
		res, err := h.b.AnalyseIPs(r.Context(), req)
		reply(w, h.log, res, err)
		return
	}
	send := startStream(w)
	req.Progress = func(done, total int) { send(analyseLine{Progress: &AnalyseProgress{Done: done, Total: total}}) }
	res, err := h.b.AnalyseIPs(r.Context(), req)
	if err != nil {
		send(analyseLine{Error: streamError(h.log, err)})
		return
	}
	send(analyseLine{Result: res})
}

func (h *ipHandlers) blocklist(w http.ResponseWriter, r *http.Request) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "plain"
	}
	res, err := h.b.Blocklist(r.Context(), format)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	for _, warn := range res.Warnings {
		h.log.Warn("blocklist export", "format", res.Format, "warning", warn)
		w.Header().Add(HeaderBlocklistWarning, strings.NewReplacer("\r", " ", "\n", " ").Replace(warn))
	}
	w.Header().Set("Content-Type", res.ContentType)
	w.Header().Set(HeaderBlocklistEntries, strconv.Itoa(res.Entries))
	w.Header().Set(HeaderBlocklistExported, strconv.Itoa(res.Exported))
	w.Header().Set(HeaderBlocklistLeftOut, strconv.Itoa(res.LeftOut))
	w.WriteHeader(http.StatusOK)
	w.Write(res.Body)
}

func (h *ipHandlers) bouncers(w http.ResponseWriter, r *http.Request) {
	res, err := h.b.Bouncers(r.Context())
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *ipHandlers) addBouncer(w http.ResponseWriter, r *http.Request) {
	var req BouncerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeError(w, h.log, err)
		return
	}
	res, err := h.b.AddBouncer(r.Context(), req.Name)
	if err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

func (h *ipHandlers) deleteBouncer(w http.ResponseWriter, r *http.Request) {
	if err := h.b.DeleteBouncer(r.Context(), r.PathValue("name")); err != nil {
		writeError(w, h.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"deleted": r.PathValue("name")})
}

var _ IPBackend = (*Client)(nil)

// IPs implements IPBackend.
func (c *Client) IPs(ctx context.Context, q IPQuery) (*IPList, error) {
	v := url.Values{}
	if len(q.Statuses) > 0 {
		v.Set("status", strings.Join(q.Statuses, ","))
	}
	for k, s := range map[string]string{"tag": q.Tag, "source": q.Source, "within": q.Within, "containing": q.Containing, "q": q.Text, "sort": q.Sort} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Expiring > 0 {
		v.Set("expiring", windowParam(q.Expiring))
	}
	if q.Desc {
		v.Set("desc", "true")
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	path := "/api/v1/ips"
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var res IPList
	if err := c.do(ctx, http.MethodGet, path, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// IP implements IPBackend. A range's slash is escaped in the path.
func (c *Client) IP(ctx context.Context, ip string, window time.Duration) (*IPDetail, error) {
	path := "/api/v1/ips/" + url.PathEscape(ip)
	if window > 0 {
		path += "?since=" + url.QueryEscape(windowParam(window))
	}
	var res IPDetail
	if err := c.do(ctx, http.MethodGet, path, nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// SetIPStatus implements IPBackend.
func (c *Client) SetIPStatus(ctx context.Context, req IPStatusRequest) (*IPStatusResult, error) {
	var res IPStatusResult
	if err := c.do(ctx, http.MethodPost, "/api/v1/ips/status", req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// UndoIPChange implements IPBackend.
func (c *Client) UndoIPChange(ctx context.Context, changeID int64) (*IPUndoResult, error) {
	var res IPUndoResult
	if err := c.do(ctx, http.MethodPost, "/api/v1/ips/undo/"+strconv.FormatInt(changeID, 10), struct{}{}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// EnrichIPs implements IPBackend.
func (c *Client) EnrichIPs(ctx context.Context, req EnrichRequest) (*EnrichResult, error) {
	var res EnrichResult
	if err := c.do(ctx, http.MethodPost, "/api/v1/ips/enrich", req, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// AnalyseIPs implements IPBackend. It always asks for the streamed answer,
// so that a long analysis is not cut by the client's timeout, and reports
// each progress line to req.Progress when set.
func (c *Client) AnalyseIPs(ctx context.Context, req AnalyseRequest) (*AnalyseResult, error) {
	var res *AnalyseResult
	err := postStream(ctx, c, "/api/v1/ips/analyse?stream=true", req, func(line analyseLine) (bool, error) {
		switch {
		case line.Error != nil:
			return true, remoteError(line.Error.Code, line.Error.Message)
		case line.Result != nil:
			res = line.Result
			return true, nil
		case line.Progress != nil && req.Progress != nil:
			req.Progress(line.Progress.Done, line.Progress.Total)
		}
		return false, nil
	})
	return res, err
}

// Blocklist implements IPBackend.
func (c *Client) Blocklist(ctx context.Context, format string) (*BlocklistExport, error) {
	path := "/api/v1/blocklist?format=" + url.QueryEscape(format)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base.String()+path, nil)
	if err != nil {
		return nil, err
	}
	c.authorize(req)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach tracehound at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read response from %s: %w", c.base, err)
	}
	if resp.StatusCode >= 300 {
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			return nil, fmt.Errorf("GET %s: server answered %s", path, resp.Status)
		}
		return nil, remoteError(eb.Error.Code, eb.Error.Message)
	}
	res := &BlocklistExport{Format: format, ContentType: resp.Header.Get("Content-Type"), Body: b,
		Warnings: resp.Header.Values(HeaderBlocklistWarning)}
	res.Entries, _ = strconv.Atoi(resp.Header.Get(HeaderBlocklistEntries))
	res.Exported, _ = strconv.Atoi(resp.Header.Get(HeaderBlocklistExported))
	res.LeftOut, _ = strconv.Atoi(resp.Header.Get(HeaderBlocklistLeftOut))
	if res.Warnings == nil {
		res.Warnings = []string{}
	}
	return res, nil
}

// Bouncers implements IPBackend.
func (c *Client) Bouncers(ctx context.Context) (*BouncerList, error) {
	var res BouncerList
	if err := c.do(ctx, http.MethodGet, "/api/v1/bouncers", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// AddBouncer implements IPBackend.
func (c *Client) AddBouncer(ctx context.Context, name string) (*BouncerCreated, error) {
	var res BouncerCreated
	if err := c.do(ctx, http.MethodPost, "/api/v1/bouncers", BouncerRequest{Name: name}, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// DeleteBouncer implements IPBackend.
func (c *Client) DeleteBouncer(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/bouncers/"+url.PathEscape(name), nil, nil)
}
