package scenario

import (
	"bufio"
	"compress/gzip"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// The ground truth of a backfill is written next to the data, never inside
// the spans: ManifestFile lists every request, SummaryFile sums it up.
const (
	// ManifestFile is the gzip-compressed CSV file with one row per
	// request, in time order, with the columns of ManifestColumns.
	ManifestFile = "manifest.csv.gz"
	// SummaryFile is the JSON encoding of the Summary.
	SummaryFile = "summary.json"
)

// ManifestColumns are the columns of the manifest. http_target is the path
// and query (path?query); campaign is empty for ordinary benign traffic;
// api_key_id and account_id are empty for anonymous requests.
var ManifestColumns = []string{
	"trace_id", "timestamp", "client_ip", "api_key_id", "account_id", "label", "campaign", "actor",
	"method", "route", "http_target", "status", "response_bytes",
}

// Summary sums up one backfill and its ground truth.
type Summary struct {
	Scenario         string            `json:"scenario"`
	Seed             uint64            `json:"seed"`
	Scale            float64           `json:"scale"`
	Start            time.Time         `json:"start"`
	Days             int               `json:"days"`
	Requests         int64             `json:"requests"`
	Spans            int64             `json:"spans"`
	BenignRequests   int64             `json:"benign_requests"`
	AttackerRequests int64             `json:"attacker_requests"`
	Campaigns        []CampaignSummary `json:"campaigns"`
	Actors           []ActorSummary    `json:"actors"`
	Manifest         string            `json:"manifest,omitempty"` // path of the manifest, when written
}

// CampaignSummary sums up one labelled campaign. Requests, Successes, Bytes,
// UniqueObjects and ByDay count only the requests to Target (for the
// reference scenario: GET /v1/admin/export); OtherRequests counts the rest
// of the campaign's requests (signup, looking around).
type CampaignSummary struct {
	Name          string `json:"name"`
	Label         string `json:"label"`
	Description   string `json:"description"`
	Target        string `json:"target,omitempty"` // "GET /v1/admin/export"
	Requests      int64  `json:"requests"`
	Successes     int64  `json:"successes"` // 2xx
	OtherRequests int64  `json:"other_requests"`
	Bytes         int64  `json:"bytes"` // response bytes
	ObjectKind    string `json:"object_kind,omitempty"`
	UniqueObjects int    `json:"unique_objects"` // distinct objects answered with a 2xx
	// ObjectParam is the query parameter that names the object, and
	// UniqueParamValues the distinct values it took in the requests to
	// Target, whatever their status, malformed ones and absence ("")
	// included: what uniqExact(extractURLParameter(http_target, param))
	// over those requests returns.
	ObjectParam       string     `json:"object_param,omitempty"`
	UniqueParamValues int        `json:"unique_param_values,omitempty"`
	IPs               []string   `json:"ips"`
	APIKeyIDs         []string   `json:"api_key_ids"`
	AccountIDs        []string   `json:"account_ids"`
	FirstSeen         time.Time  `json:"first_seen"`
	LastSeen          time.Time  `json:"last_seen"`
	ByDay             []DayCount `json:"by_day"`
}

// campaignTally is the bookkeeping behind a CampaignSummary.
type campaignTally struct {
	CampaignSummary
	ipSet   set[string]
	keySet  set[string]
	acctSet set[string]
	objects set[int64]
	params  set[string]
	byDay   map[dayIP]*DayCount
}

// DayCount is the traffic of one address to a campaign's target on one day
// of the window (day 1 is Start).
type DayCount struct {
	Day      int    `json:"day"`
	Date     string `json:"date"`
	IP       string `json:"ip"`
	Requests int64  `json:"requests"`
	Bytes    int64  `json:"bytes"`
}

// ActorSummary counts the requests of one actor (and campaign).
type ActorSummary struct {
	Name     string `json:"name"`
	Label    string `json:"label"`
	Campaign string `json:"campaign,omitempty"`
	Requests int64  `json:"requests"`
}

type set[T comparable] map[T]struct{}

func (s set[T]) add(v T) { s[v] = struct{}{} }

func (s set[T]) sorted(less func(a, b T) int) []T {
	out := make([]T, 0, len(s))
	for v := range s {
		out = append(out, v)
	}
	slices.SortFunc(out, less)
	return out
}

type dayIP struct {
	day int
	ip  string
}

// recorder keeps the ground truth of a run: it writes the manifest (when
// given a directory) and sums up the Summary.
type recorder struct {
	g     *generator
	sum   Summary
	camps map[*campaignInfo]*campaignTally
	file  *os.File
	zw    *gzip.Writer
	bw    *bufio.Writer
	row   []byte
}

func newRecorder(g *generator, sum Summary, dir string) (*recorder, error) {
	rec := &recorder{g: g, sum: sum, camps: map[*campaignInfo]*campaignTally{}}
	for _, c := range g.camps {
		cs := &campaignTally{
			CampaignSummary: CampaignSummary{Name: c.name, Label: c.label, Description: c.description, ObjectKind: c.objectKind, ObjectParam: c.objectParam},
			ipSet:           set[string]{}, keySet: set[string]{}, acctSet: set[string]{}, objects: set[int64]{}, params: set[string]{}, byDay: map[dayIP]*DayCount{},
		}
		if c.target != nil {
			cs.Target = c.target.spanName
		}
		rec.camps[c] = cs
	}
	rec.sum.Actors = make([]ActorSummary, len(g.infos))
	for i, a := range g.infos {
		rec.sum.Actors[i] = ActorSummary{Name: a.name, Label: a.label}
		if a.campaign != nil {
			rec.sum.Actors[i].Campaign = a.campaign.name
		}
	}
	if dir == "" {
		return rec, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create manifest directory: %w", err)
	}
	path := filepath.Join(dir, ManifestFile)
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create manifest: %w", err)
	}
	rec.file, rec.sum.Manifest = f, path
	rec.zw, _ = gzip.NewWriterLevel(f, gzip.BestSpeed)
	rec.bw = bufio.NewWriterSize(rec.zw, 1<<20)
	for i, c := range ManifestColumns {
		if i > 0 {
			rec.bw.WriteByte(',')
		}
		rec.bw.WriteString(c)
	}
	rec.bw.WriteByte('\n')
	return rec, nil
}

// record adds one request, whose server span has trace id tid and which
// produced spans spans.
func (rec *recorder) record(rq *request, tid trace.TraceID, spans int) error {
	s := &rec.sum
	s.Requests++
	s.Spans += int64(spans)
	if rq.actor.label == LabelAttacker {
		s.AttackerRequests++
	} else {
		s.BenignRequests++
	}
	s.Actors[rq.actor.index].Requests++
	if c := rq.actor.campaign; c != nil {
		rec.count(rec.camps[c], rq)
	}
	if rec.bw == nil {
		return nil
	}
	b := rec.row[:0]
	var hexID [32]byte
	hex.Encode(hexID[:], tid[:])
	b = append(b, hexID[:]...)
	b = append(b, ',')
	b = time.Unix(0, rq.start).UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, ',')
	b = appendField(b, rq.clientIP)
	b = append(b, ',')
	if rq.key != nil {
		b = appendField(b, rq.key.id)
	}
	b = append(b, ',')
	if rq.acct != nil {
		b = appendField(b, rq.acct.id)
	}
	b = append(b, ',')
	b = appendField(b, rq.actor.label)
	b = append(b, ',')
	if rq.actor.campaign != nil {
		b = appendField(b, rq.actor.campaign.name)
	}
	b = append(b, ',')
	b = appendField(b, rq.actor.name)
	b = append(b, ',')
	b = append(b, rq.op.method...)
	b = append(b, ',')
	b = appendField(b, rq.op.route)
	b = append(b, ',')
	if rq.query == "" {
		b = appendField(b, rq.path)
	} else {
		b = appendField(b, rq.path+"?"+rq.query)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(rq.status), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, rq.respBytes, 10)
	b = append(b, '\n')
	rec.row = b
	_, err := rec.bw.Write(b)
	return err
}

func (rec *recorder) count(cs *campaignTally, rq *request) {
	t := time.Unix(0, rq.start).UTC()
	if cs.FirstSeen.IsZero() || t.Before(cs.FirstSeen) {
		cs.FirstSeen = t
	}
	if t.After(cs.LastSeen) {
		cs.LastSeen = t
	}
	cs.ipSet.add(rq.clientIP)
	if rq.key != nil {
		cs.keySet.add(rq.key.id)
	}
	if rq.acct != nil {
		cs.acctSet.add(rq.acct.id)
	}
	if !rq.target {
		cs.OtherRequests++
		return
	}
	cs.Requests++
	cs.Bytes += rq.respBytes
	if cs.ObjectParam != "" {
		cs.params.add(parseQuery(rq.query)[cs.ObjectParam])
	}
	if rq.status >= 200 && rq.status < 300 {
		cs.Successes++
		if rq.object != 0 {
			cs.objects.add(rq.object)
		}
	}
	k := dayIP{rec.g.dayOf(rq.start), rq.clientIP}
	d := cs.byDay[k]
	if d == nil {
		d = &DayCount{Day: k.day, Date: t.Format(time.DateOnly), IP: k.ip}
		cs.byDay[k] = d
	}
	d.Requests++
	d.Bytes += rq.respBytes
}

// close finishes the manifest, writes the summary next to it and returns
// the summary.
func (rec *recorder) close(dir string) (Summary, error) {
	s := rec.sum
	for _, c := range rec.g.camps {
		cs := rec.camps[c]
		cs.IPs = cs.ipSet.sorted(cmpString)
		cs.APIKeyIDs = cs.keySet.sorted(cmpString)
		cs.AccountIDs = cs.acctSet.sorted(cmpString)
		cs.UniqueObjects = len(cs.objects)
		cs.UniqueParamValues = len(cs.params)
		for _, d := range cs.byDay {
			cs.ByDay = append(cs.ByDay, *d)
		}
		slices.SortFunc(cs.ByDay, func(a, b DayCount) int {
			if a.Day != b.Day {
				return a.Day - b.Day
			}
			return cmpString(a.IP, b.IP)
		})
		s.Campaigns = append(s.Campaigns, cs.CampaignSummary)
	}
	if rec.bw == nil {
		return s, nil
	}
	err := rec.bw.Flush()
	if e := rec.zw.Close(); err == nil {
		err = e
	}
	if e := rec.file.Close(); err == nil {
		err = e
	}
	if err != nil {
		return s, fmt.Errorf("write manifest: %w", err)
	}
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return s, fmt.Errorf("encode summary: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, SummaryFile), append(js, '\n'), 0o644); err != nil {
		return s, fmt.Errorf("write summary: %w", err)
	}
	return s, nil
}

// abort closes the manifest of a failed run.
func (rec *recorder) abort() {
	if rec.file != nil {
		rec.file.Close()
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// appendField appends a CSV field, quoted when it must be.
func appendField(b []byte, s string) []byte {
	quote := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			quote = true
			break
		}
	}
	if !quote {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}
