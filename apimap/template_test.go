package apimap

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// corpusLine is one labelled line of testdata/templating_corpus.tsv.
type corpusLine struct {
	line                  int
	service, method, path string
	want                  string
}

func readCorpus(t *testing.T, name string) []corpusLine {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var lines []corpusLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := sc.Text()
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Split(text, "\t")
		if len(fields) != 4 {
			t.Fatalf("%s:%d: %d fields, want 4", name, n, len(fields))
		}
		lines = append(lines, corpusLine{n, fields[0], fields[1], fields[2], fields[3]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// minCorpusAccuracy is the share of corpus lines that must get exactly the
// labelled template.
const minCorpusAccuracy = 0.97

func TestTemplatingCorpus(t *testing.T) {
	lines := readCorpus(t, "testdata/templating_corpus.tsv")
	if len(lines) < 300 {
		t.Fatalf("corpus has %d lines, want at least 300", len(lines))
	}
	obs := make([]Observation, len(lines))
	for i, l := range lines {
		obs[i] = Observation{Service: l.service, Method: l.method, Path: l.path, Hits: 1, Has2xx: true}
	}
	tp := mustTemplater(t, Options{})
	results := tp.Template(obs)
	correct := 0
	for i, l := range lines {
		if got := results[i].Template; got == l.want {
			correct++
		} else {
			t.Logf("line %d: Template(%q) = %q, want %q", l.line, l.path, got, l.want)
		}
	}
	accuracy := float64(correct) / float64(len(lines))
	t.Logf("corpus accuracy: %d/%d = %.1f%%", correct, len(lines), 100*accuracy)
	if accuracy < minCorpusAccuracy {
		t.Errorf("corpus accuracy %.1f%%, want at least %.0f%%", 100*accuracy, 100*minCorpusAccuracy)
	}
}

func mustTemplater(t testing.TB, opts Options) *Templater {
	t.Helper()
	tp, err := NewTemplater(opts)
	if err != nil {
		t.Fatalf("NewTemplater: %v", err)
	}
	return tp
}

// syntheticObservations returns n distinct observations in a mix of API
// styles, the same for the same n.
func syntheticObservations(n int) []Observation {
	rng := rand.New(rand.NewPCG(1, 2))
	collections := []string{"users", "orders", "documents", "invoices", "products", "payment-methods", "lineItems", "tickets"}
	obs := make([]Observation, 0, n)
	seen := make(map[string]bool, n)
	for len(obs) < n {
		var path string
		c := collections[rng.IntN(len(collections))]
		switch rng.IntN(8) {
		case 0:
			path = fmt.Sprintf("/api/v1/%s/%d", c, rng.IntN(10_000_000))
		case 1:
			path = fmt.Sprintf("/api/v1/%s/%08x-%04x-4%03x-a%03x-%012x/items/%d", c, rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Uint64()&(1<<48-1), rng.IntN(1000))
		case 2:
			path = fmt.Sprintf("/repos/%s/%s/issues", slug(rng), slug(rng))
		case 3:
			path = fmt.Sprintf("/blog/%s-%s-%s/comments?page=%d", slug(rng), slug(rng), slug(rng), rng.IntN(9))
		case 4:
			path = fmt.Sprintf("/v2/%s/%024x", c, rng.Uint64())
		case 5:
			path = fmt.Sprintf("/files/%s.pdf", slug(rng))
		case 6:
			path = fmt.Sprintf("/%s/search/%s", c, slug(rng))
		default:
			path = fmt.Sprintf("/api/v1/%s/%d/%s", c, rng.IntN(100000), collections[rng.IntN(len(collections))])
		}
		if seen[path] {
			continue
		}
		seen[path] = true
		obs = append(obs, Observation{Service: "svc-" + strconv.Itoa(rng.IntN(4)), Host: "api:443", Method: "GET", Path: path, Hits: 1 + rng.Int64N(50), Has2xx: true})
	}
	return obs
}

// slug returns a random pronounceable lowercase word.
func slug(rng *rand.Rand) string {
	const cons, vows = "bcdfghjklmnprstvz", "aeiou"
	b := make([]byte, 0, 8)
	for range 2 + rng.IntN(2) {
		b = append(b, cons[rng.IntN(len(cons))], vows[rng.IntN(len(vows))])
	}
	return string(b)
}

func BenchmarkTemplate(b *testing.B) {
	obs := syntheticObservations(100_000)
	tp := mustTemplater(b, Options{})
	b.ReportAllocs()
	for b.Loop() {
		tp.Template(obs)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(obs)), "ns/path")
}

// obs returns a successful observation of one hit.
func obs(service, path string) Observation {
	return Observation{Service: service, Method: "GET", Path: path, Hits: 1, Has2xx: true}
}

// templateOne templates one observation on its own.
func templateOne(t *testing.T, tp *Templater, o Observation) Result {
	t.Helper()
	results := tp.Template([]Observation{o})
	if len(results) != 1 {
		t.Fatalf("Template returned %d results for 1 observation", len(results))
	}
	return results[0]
}

// slugs returns n distinct lowercase slugs that the classifier leaves
// undecided: not words, no digits.
func slugs(t testing.TB, n int) []string {
	t.Helper()
	return slugsWith(t, "zor", n)
}

// slugsWith is slugs with another prefix, for a second family of slugs.
func slugsWith(t testing.TB, prefix string, n int) []string {
	t.Helper()
	var out []string
	for i := 0; len(out) < n; i++ {
		s := fmt.Sprintf("%s%cq%cx", prefix, 'a'+i%26, 'a'+i/26%26)
		if c := classify(s); c.kind != KindLiteral || c.word {
			t.Fatalf("slug %q classifies as %+v", s, c)
		}
		out = append(out, s)
	}
	return out
}

func TestTemplateNormalisation(t *testing.T) {
	tp := mustTemplater(t, Options{})
	tests := []struct {
		path     string
		want     string
		trailing bool
	}{
		{"/users/123/", "/users/{user_id}", true},
		{"//users//123", "/users/{user_id}", false},
		{"/users/123?sort=asc#top", "/users/{user_id}", false},
		{"https://api.example.com/users/123", "/users/{user_id}", false},
		{"", "/", false},
		{"/", "/", false},
		{"users", "/users", false},
		{"/files/my%20report.pdf", "/files/{file_id}", false},
		{"/users/john%40example.com", "/users/{email}", false},
		{"/a%2Fb", "/a/b", false},
		{"/a%zz", "/{id}", false},
		{"/u/a/b/c/d/e/f/g/h/i/j/k", "/u/a/b/c/d/e/f/g/h/{rest}", false},
		{"/users/{user_id}", "/users/{user_id}", false},
		{"/a/{x}/b/{x}", "/a/{x}/b/{x_2}", false},
	}
	for _, tc := range tests {
		r := templateOne(t, tp, obs("s", tc.path))
		if r.Template != tc.want || r.TrailingSlash != tc.trailing {
			t.Errorf("Template(%q) = %q (trailing slash %v), want %q (%v)", tc.path, r.Template, r.TrailingSlash, tc.want, tc.trailing)
		}
	}
}

func TestTemplateParams(t *testing.T) {
	tp := mustTemplater(t, Options{})
	tests := []struct {
		path   string
		want   string
		params []TemplateParam
	}{
		{"/documents/123", "/documents/{document_id}", []TemplateParam{{"document_id", KindInt}}},
		{"/order-items/123", "/order-items/{order_item_id}", []TemplateParam{{"order_item_id", KindInt}}},
		{"/lineItems/123", "/lineItems/{line_item_id}", []TemplateParam{{"line_item_id", KindInt}}},
		{"/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa", "/payment_intents/{payment_intent_id}", []TemplateParam{{"payment_intent_id", KindAlnumID}}},
		{"/categories/507f1f77bcf86cd799439011", "/categories/{category_id}", []TemplateParam{{"category_id", KindObjectID}}},
		{"/api/v1/123", "/api/v1/{id}", []TemplateParam{{"id", KindInt}}},
		{"/reports/2024-01-15", "/reports/{date}", []TemplateParam{{"date", KindDate}}},
		{"/users/a@b.co/orders", "/users/{email}/orders", []TemplateParam{{"email", KindEmail}}},
		{"/users/123/456", "/users/{user_id}/{id}", []TemplateParam{{"user_id", KindInt}, {"id", KindInt}}},
		{"/ids/42", "/ids/{id}", []TemplateParam{{"id", KindInt}}},
		{"/health", "/health", nil},
	}
	for _, tc := range tests {
		r := templateOne(t, tp, obs("s", tc.path))
		if r.Template != tc.want || !slices.Equal(r.Params, tc.params) {
			t.Errorf("Template(%q) = %q %v, want %q %v", tc.path, r.Template, r.Params, tc.want, tc.params)
		}
	}
}

func TestTemplateParamKindsMerge(t *testing.T) {
	tp := mustTemplater(t, Options{})
	results := tp.Template([]Observation{
		obs("s", "/users/123"),
		obs("s", "/users/550e8400-e29b-41d4-a716-446655440000"),
		obs("s", "/orders/1"),
		obs("s", "/orders/22"),
	})
	want := []TemplateParam{{"user_id", KindString}}
	for _, r := range results[:2] {
		if r.Template != "/users/{user_id}" || !slices.Equal(r.Params, want) {
			t.Errorf("Template(/users/...) = %q %v, want %q %v", r.Template, r.Params, "/users/{user_id}", want)
		}
	}
	want = []TemplateParam{{"order_id", KindInt}}
	for _, r := range results[2:] {
		if r.Template != "/orders/{order_id}" || !slices.Equal(r.Params, want) {
			t.Errorf("Template(/orders/...) = %q %v, want %q %v", r.Template, r.Params, "/orders/{order_id}", want)
		}
	}
}

func TestTemplateRoute(t *testing.T) {
	tp := mustTemplater(t, Options{})
	tests := []struct {
		path, route string
		want        string
		source      Source
	}{
		{"/users/42", "/users/:id", "/users/{id}", SourceRoute},
		{"/users/42", "/users/:id(\\d+)", "/users/{id}", SourceRoute},
		{"/users/42", "/users/{id:[0-9]+}", "/users/{id}", SourceRoute},
		{"/users/42", "/users/{id:[0-9]{1,9}}", "/users/{id}", SourceRoute},
		{"/users/42", "/users/:id?", "/users/{id}", SourceRoute},
		{"/docs/a/b", "/docs/[...slug]", "/docs/{slug}", SourceRoute},
		{"/files/a.json", "/files/:id.json", "/files/a.json", SourceClassifier},
		{"/users/42", "/users/<int:user_id>", "/users/{user_id}", SourceRoute},
		{"/users/42", "/users/[uid]", "/users/{uid}", SourceRoute},
		{"/static/css/site.css", "/static/*filepath", "/static/{filepath}", SourceRoute},
		{"/files/a/b/c", "/files/{path...}", "/files/{path}", SourceRoute},
		{"/items/9", "GET example.com/items/{id}", "/items/{id}", SourceRoute},
		{"/a/b", "/:x/:x", "/{x}/{x_2}", SourceRoute},
		// Mounted under a prefix of words.
		{"/api/v2/users/42", "/users/:id", "/api/v2/users/{id}", SourceRoute},
		// Untrusted routes fall through to the classifier.
		{"/zorvex/users/42", "/users/:id", "/zorvex/users/{user_id}", SourceClassifier},
		{"/users/42", "/users/42", "/users/{user_id}", SourceClassifier},
		{"/users/42", "/users/43", "/users/{user_id}", SourceClassifier},
		{"/users/42", "/members/:id", "/users/{user_id}", SourceClassifier},
		{"/users/42/orders", "/users/:id", "/users/{user_id}/orders", SourceClassifier},
		{"/users/42", "/users/12345/:id", "/users/{user_id}", SourceClassifier},
		{"/files/a.txt", "/files/{name}.{ext}", "/files/a.txt", SourceClassifier},
		{"/anything/here", "*", "/anything/here", SourceClassifier},
		{"/anything/here", "/*", "/anything/here", SourceClassifier},
		{"/users/42", "", "/users/{user_id}", SourceClassifier},
	}
	for _, tc := range tests {
		o := obs("s", tc.path)
		o.Route = tc.route
		r := templateOne(t, tp, o)
		if r.Template != tc.want || r.Source != tc.source {
			t.Errorf("Template(%q, route %q) = %q from %v, want %q from %v", tc.path, tc.route, r.Template, r.Source, tc.want, tc.source)
		}
	}
}

func TestTemplatePins(t *testing.T) {
	tp := mustTemplater(t, Options{Pins: []ServicePath{
		{Service: "reports", Path: "/reports/{report}"},
		{Path: "/blog/zoraqax"},
	}})
	tests := []struct {
		service, path string
		want          string
		source        Source
	}{
		{"reports", "/reports/2024-01-15", "/reports/{report}", SourcePin},
		{"other", "/reports/2024-01-15", "/reports/{date}", SourceClassifier},
		{"any", "/blog/zoraqax", "/blog/zoraqax", SourcePin},
	}
	var batch []Observation
	for _, s := range slugs(t, 12) {
		batch = append(batch, obs("any", "/blog/"+s))
	}
	for _, tc := range tests {
		results := tp.Template(append(slices.Clone(batch), obs(tc.service, tc.path)))
		r := results[len(results)-1]
		if r.Template != tc.want || r.Source != tc.source {
			t.Errorf("Template(%q in %q) = %q from %v, want %q from %v", tc.path, tc.service, r.Template, r.Source, tc.want, tc.source)
		}
	}
}

func TestTemplateDoNotMergeAndReservedWords(t *testing.T) {
	names := slugs(t, 11)
	tp := mustTemplater(t, Options{
		DoNotMerge:    []ServicePath{{Service: "s", Path: "/teams/" + names[0]}, {Path: "/products/1234567890123"}},
		ReservedWords: []string{"ABC123"},
	})
	var batch []Observation
	for _, n := range names {
		batch = append(batch, obs("s", "/teams/"+n))
	}
	batch = append(batch, obs("s", "/products/1234567890123"), obs("s", "/products/555"), obs("s", "/x/abc123"))
	results := tp.Template(batch)
	want := map[string]string{
		"/teams/" + names[0]:      "/teams/" + names[0],
		"/teams/" + names[1]:      "/teams/{team_id}",
		"/products/1234567890123": "/products/1234567890123",
		"/products/555":           "/products/{product_id}",
		"/x/abc123":               "/x/abc123",
	}
	for i, o := range batch {
		if w, ok := want[o.Path]; ok && results[i].Template != w {
			t.Errorf("Template(%q) = %q, want %q", o.Path, results[i].Template, w)
		}
	}
}

func TestNewTemplaterErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
	}{
		{"pin without slash", Options{Pins: []ServicePath{{Path: "users/{id}"}}}},
		{"pin with open brace", Options{Pins: []ServicePath{{Path: "/users/{id"}}}},
		{"pin with adjacent params", Options{Pins: []ServicePath{{Path: "/files/{a}{b}"}}}},
		{"do-not-merge with param", Options{DoNotMerge: []ServicePath{{Path: "/users/{id}"}}}},
		{"do-not-merge without slash", Options{DoNotMerge: []ServicePath{{Path: "users"}}}},
	}
	for _, tc := range tests {
		if _, err := NewTemplater(tc.opts); err == nil {
			t.Errorf("NewTemplater(%s) = nil error, want an error", tc.name)
		}
	}
}

func TestTemplateSpec(t *testing.T) {
	spec := loadSpecFile(t, "testdata/spec/datavault.yaml")
	tp := mustTemplater(t, Options{Specs: map[string]*Spec{"datavault": spec}})
	tests := []struct {
		service, path string
		want          string
		source        Source
		params        []TemplateParam
	}{
		{"datavault", "/v1/documents/550e8400-e29b-41d4-a716-446655440000", "/v1/documents/{documentId}", SourceSpec, []TemplateParam{{"documentId", KindUUID}}},
		{"datavault", "/v1/documents/search?q=x", "/v1/documents/search", SourceSpec, nil},
		{"datavault", "/v1/collections/42/documents", "/v1/collections/{collectionId}/documents", SourceSpec, []TemplateParam{{"collectionId", KindInt}}},
		{"datavault", "/v1/files/report.pdf", "/v1/files/{name}.{ext}", SourceSpec, []TemplateParam{{"name", KindString}, {"ext", KindString}}},
		{"datavault", "/status", "/status", SourceSpec, nil},
		{"datavault", "/v2/documents/42", "/v2/documents/{document_id}", SourceClassifier, []TemplateParam{{"document_id", KindInt}}},
		{"other", "/v1/documents/42", "/v1/documents/{document_id}", SourceClassifier, []TemplateParam{{"document_id", KindInt}}},
	}
	for _, tc := range tests {
		r := templateOne(t, tp, obs(tc.service, tc.path))
		if r.Template != tc.want || r.Source != tc.source || !slices.Equal(r.Params, tc.params) {
			t.Errorf("Template(%q in %q) = %q from %v %v, want %q from %v %v", tc.path, tc.service, r.Template, r.Source, r.Params, tc.want, tc.source, tc.params)
		}
	}
}

func TestTemplateOverflow(t *testing.T) {
	tp := mustTemplater(t, Options{MaxTemplatesPerService: 3, Pins: []ServicePath{{Path: "/pinned"}}})
	batch := []Observation{
		{Service: "s", Method: "GET", Path: "/alpha", Hits: 50},
		{Service: "s", Method: "GET", Path: "/beta", Hits: 40},
		{Service: "s", Method: "GET", Path: "/gamma", Hits: 30},
		{Service: "s", Method: "GET", Path: "/delta", Hits: 20},
		{Service: "s", Method: "GET", Path: "/pinned", Hits: 1},
		{Service: "t", Method: "GET", Path: "/gamma", Hits: 1},
	}
	want := []string{"/alpha", OverflowTemplate, OverflowTemplate, OverflowTemplate, "/pinned", "/gamma"}
	results := tp.Template(batch)
	for i, r := range results {
		if r.Template != want[i] {
			t.Errorf("Template(%q in %q) = %q, want %q", batch[i].Path, batch[i].Service, r.Template, want[i])
		}
		if (r.Template == OverflowTemplate) != (r.Source == SourceOverflow) {
			t.Errorf("Template(%q) = %q from %v: overflow and source disagree", batch[i].Path, r.Template, r.Source)
		}
	}
	distinct := make(map[string]bool)
	for i, r := range results {
		if batch[i].Service == "s" {
			distinct[r.Template] = true
		}
	}
	if len(distinct) > 3 {
		t.Errorf("service s has %d templates, want at most 3: %v", len(distinct), distinct)
	}
}

// trieCase is a batch of observations and what some of its paths must
// become.
type trieCase struct {
	name  string
	opts  Options
	batch []Observation
	want  map[string]string // path → template
}

func runTrieCases(t *testing.T, cases []trieCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			results := mustTemplater(t, tc.opts).Template(tc.batch)
			checked := 0
			for i, o := range tc.batch {
				w, ok := tc.want[o.Path]
				if !ok {
					continue
				}
				checked++
				if results[i].Template != w {
					t.Errorf("Template(%q) = %q from %v, want %q", o.Path, results[i].Template, results[i].Source, w)
				}
			}
			if checked == 0 {
				t.Fatal("no observation matched a wanted path")
			}
		})
	}
}

// under returns one observation per name under prefix.
func under(prefix string, names []string) []Observation {
	var out []Observation
	for _, n := range names {
		out = append(out, obs("s", prefix+n))
	}
	return out
}

func TestTemplateTrie(t *testing.T) {
	ten, nine, many := slugs(t, 10), slugs(t, 9), slugs(t, 101)
	orgs, repos := slugsWith(t, "vel", 12), slugsWith(t, "kum", 101)
	dictWords := wordsFromDictionary(t, 101)

	heavy := under("/teams/", ten)
	heavy[0].Hits = 5

	noOK := under("/teams/", ten)
	for i := range noOK {
		noOK[i].Has2xx = false
	}

	mixedShapes := under("/teams/", ten[:5])
	for _, n := range ten[5:] {
		mixedShapes = append(mixedShapes, obs("s", "/teams/"+n+"/members/42"))
	}

	underParam := under("/orgs/", orgs)
	for i, n := range repos[:50] {
		underParam = append(underParam, obs("s", "/orgs/"+orgs[i%len(orgs)]+"/"+n))
	}
	manyUnderParam := under("/orgs/", orgs)
	for i, n := range repos {
		manyUnderParam = append(manyUnderParam, obs("s", "/orgs/"+orgs[i%len(orgs)]+"/"+n))
	}

	runTrieCases(t, []trieCase{
		{
			name:  "ten slugs collapse",
			batch: under("/teams/", ten),
			want:  map[string]string{"/teams/" + ten[0]: "/teams/{team_id}", "/teams/" + ten[9]: "/teams/{team_id}"},
		},
		{
			name:  "nine slugs stay",
			batch: under("/teams/", nine),
			want:  map[string]string{"/teams/" + nine[0]: "/teams/" + nine[0]},
		},
		{
			name:  "a slug with more than 10% of the traffic blocks the collapse",
			batch: heavy,
			want:  map[string]string{"/teams/" + ten[1]: "/teams/" + ten[1]},
		},
		{
			name:  "no 2xx blocks the collapse",
			batch: noOK,
			want:  map[string]string{"/teams/" + ten[1]: "/teams/" + ten[1]},
		},
		{
			name:  "mixed next-segment shapes block the collapse",
			batch: mixedShapes,
			want:  map[string]string{"/teams/" + ten[0]: "/teams/" + ten[0]},
		},
		{
			name:  "words stay beside the parameter",
			batch: append(under("/teams/", ten), obs("s", "/teams/settings")),
			want:  map[string]string{"/teams/settings": "/teams/settings", "/teams/" + ten[3]: "/teams/{team_id}"},
		},
		{
			name:  "the first segment never collapses",
			batch: under("/", many),
			want:  map[string]string{"/" + many[0]: "/" + many[0]},
		},
		{
			name:  "the segment after /api/v1 never collapses",
			batch: under("/api/v1/", many),
			want:  map[string]string{"/api/v1/" + many[0]: "/api/v1/" + many[0]},
		},
		{
			name:  "a parameter under a parameter needs more than 100 values",
			batch: underParam,
			want:  map[string]string{"/orgs/" + orgs[0] + "/" + repos[0]: "/orgs/{org_id}/" + repos[0]},
		},
		{
			name:  "a parameter under a parameter with 101 values",
			batch: manyUnderParam,
			want:  map[string]string{"/orgs/" + orgs[0] + "/" + repos[0]: "/orgs/{org_id}/{id}"},
		},
		{
			name:  "more than 100 children collapse, words included",
			batch: under("/tags/", dictWords),
			want:  map[string]string{"/tags/" + dictWords[0]: "/tags/{tag_id}", "/tags/" + dictWords[100]: "/tags/{tag_id}"},
		},
		{
			name:  "100 word children stay",
			batch: under("/tags/", dictWords[:100]),
			want:  map[string]string{"/tags/" + dictWords[0]: "/tags/" + dictWords[0]},
		},
		{
			name:  "user-reserved words survive rule (b)",
			opts:  Options{ReservedWords: []string{dictWords[0]}},
			batch: under("/tags/", dictWords),
			want:  map[string]string{"/tags/" + dictWords[0]: "/tags/" + dictWords[0], "/tags/" + dictWords[1]: "/tags/{tag_id}"},
		},
		{
			name:  "hosts are inferred apart",
			batch: append(under("/teams/", ten), Observation{Service: "s", Host: "other:443", Method: "GET", Path: "/teams/" + ten[0], Hits: 1, Has2xx: true}),
			want:  map[string]string{"/teams/" + ten[1]: "/teams/{team_id}"},
		},
		{
			name:  "three single digits are peers",
			batch: under("/pages/", []string{"1", "2", "3"}),
			want:  map[string]string{"/pages/1": "/pages/{page_id}"},
		},
		{
			name:  "two single digits stay",
			batch: under("/pages/", []string{"1", "2"}),
			want:  map[string]string{"/pages/1": "/pages/1"},
		},
		{
			name:  "a single digit joins integer siblings",
			batch: under("/items/", []string{"7", "123"}),
			want:  map[string]string{"/items/7": "/items/{item_id}", "/items/123": "/items/{item_id}"},
		},
		{
			name:  "single digits under a prefix stay",
			batch: under("/api/", []string{"1", "2", "3"}),
			want:  map[string]string{"/api/1": "/api/1"},
		},
	})

	// The host case: the second host saw one slug and keeps it literal.
	batch := append(under("/teams/", ten), Observation{Service: "s", Host: "other:443", Method: "GET", Path: "/teams/" + ten[0], Hits: 1, Has2xx: true})
	results := mustTemplater(t, Options{}).Template(batch)
	if got, want := results[len(results)-1].Template, "/teams/"+ten[0]; got != want {
		t.Errorf("Template(%q on host other:443) = %q, want %q", "/teams/"+ten[0], got, want)
	}
}

// wordsFromDictionary returns n dictionary words that classify as words.
func wordsFromDictionary(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	for line := range strings.Lines(wordList) {
		w := strings.TrimSpace(line)
		if w == "" || w[0] == '#' || len(w) < 4 {
			continue
		}
		if c := classify(w); c.word && !c.reserved {
			out = append(out, w)
		}
		if len(out) == n {
			return out
		}
	}
	t.Fatalf("dictionary has fewer than %d usable words", n)
	return nil
}

func TestTemplateSources(t *testing.T) {
	batch := under("/teams/", slugs(t, 10))
	batch = append(batch, obs("s", "/documents/42"))
	results := mustTemplater(t, Options{}).Template(batch)
	if got := results[0].Source; got != SourceTrie {
		t.Errorf("Template(%q).Source = %v, want %v", batch[0].Path, got, SourceTrie)
	}
	if got := results[len(results)-1].Source; got != SourceClassifier {
		t.Errorf("Template(%q).Source = %v, want %v", "/documents/42", got, SourceClassifier)
	}
}

func TestTemplateSensitive(t *testing.T) {
	tp := mustTemplater(t, Options{})
	tests := []struct {
		path string
		want []SegmentKind
	}{
		{"/users/a@b.co/devices/10.0.0.1", []SegmentKind{KindEmail, KindIP}},
		{"/cards/4111111111111111/also/4111111111111111", []SegmentKind{KindCard}},
		{"/users/42", nil},
	}
	for _, tc := range tests {
		o := obs("s", tc.path)
		o.Route = "/users/:id/devices/:device"
		if got := templateOne(t, tp, o).Sensitive; !slices.Equal(got, tc.want) {
			t.Errorf("Template(%q).Sensitive = %v, want %v", tc.path, got, tc.want)
		}
	}
}

func TestEndpointID(t *testing.T) {
	id := EndpointID("datavault", "GET", "/admin/export")
	if len(id) != 16 || strings.Trim(id, "0123456789abcdef") != "" {
		t.Fatalf("EndpointID = %q, want 16 lowercase hex digits", id)
	}
	// The id is stored; it must never change for the same endpoint.
	if want := "30f612e518168a88"; id != want {
		t.Errorf("EndpointID(datavault, GET, /admin/export) = %q, want %q", id, want)
	}
	for _, other := range [][3]string{
		{"datavault", "POST", "/admin/export"},
		{"datavault", "GET", "/admin/exports"},
		{"datavaul", "tGET", "/admin/export"},
	} {
		if got := EndpointID(other[0], other[1], other[2]); got == id {
			t.Errorf("EndpointID(%q, %q, %q) = %q, the same as for (datavault, GET, /admin/export)", other[0], other[1], other[2], got)
		}
	}
	r := templateOne(t, mustTemplater(t, Options{}), Observation{Service: "datavault", Method: "get", Path: "/admin/export?page=2"})
	if r.Method != "GET" || r.EndpointID != id {
		t.Errorf("Template(get /admin/export) = method %q id %q, want GET %q", r.Method, r.EndpointID, id)
	}
}

func FuzzTemplate(f *testing.F) {
	for _, seed := range [][2]string{
		{"/users/123", ""},
		{"/api/v1/users/550e8400-e29b-41d4-a716-446655440000/orders/42?x=1", ""},
		{"https://h/a%2Fb//c/", ""},
		{"/a%25b/%7Bid%7D", ""},
		{"/u/1/2/3/4/5/6/7/8/9/10/11/12", ""},
		{"/users/42", "/users/:id"},
		{"/static/x/y", "/static/*path"},
		{"/files/a.txt", "GET host/files/{name}"},
		{"/{a}/{a}", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	tp := mustTemplater(f, Options{})
	f.Fuzz(func(t *testing.T, path, route string) {
		r := tp.Template([]Observation{{Service: "s", Method: "GET", Path: path, Route: route, Hits: 1, Has2xx: true}})[0]
		if !strings.HasPrefix(r.Template, "/") {
			t.Fatalf("Template(%q, route %q) = %q, want a leading /", path, route, r.Template)
		}
		if n := strings.Count(r.Template, "{"); n != len(r.Params) {
			t.Fatalf("Template(%q, route %q) = %q with %d params, want %d", path, route, r.Template, len(r.Params), n)
		}
		again := tp.Template([]Observation{{Service: "s", Method: "GET", Path: r.Template, Hits: 1, Has2xx: true}})[0]
		if again.Template != r.Template {
			t.Fatalf("Template(%q) = %q, but Template(%q) = %q: not idempotent", path, r.Template, r.Template, again.Template)
		}
	})
}

// TestTemplateOrderIndependent checks that a path's template depends on the
// batch, not on the order of the batch, and that concurrent calls agree.
func TestTemplateOrderIndependent(t *testing.T) {
	lines := readCorpus(t, "testdata/templating_corpus.tsv")
	batch := make([]Observation, len(lines))
	for i, l := range lines {
		batch[i] = Observation{Service: l.service, Method: l.method, Path: l.path, Hits: 1, Has2xx: true}
	}
	tp := mustTemplater(t, Options{})
	want := make(map[string]string)
	for i, r := range tp.Template(batch) {
		want[batch[i].Service+" "+batch[i].Path] = r.Template
	}
	rng := rand.New(rand.NewPCG(7, 7))
	var wg sync.WaitGroup
	for range 4 {
		shuffled := slices.Clone(batch)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		wg.Go(func() {
			for i, r := range tp.Template(shuffled) {
				key := shuffled[i].Service + " " + shuffled[i].Path
				if r.Template != want[key] {
					t.Errorf("Template(%q) in a shuffled batch = %q, want %q", key, r.Template, want[key])
				}
			}
		})
	}
	wg.Wait()
}
