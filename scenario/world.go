package scenario

import (
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The world is the fixed state behind the DataVault API: accounts, API keys,
// collections and documents. It depends on the seed only (never on the scale
// or the start time), so the live service and every backfill with the same
// seed agree on which collection holds which documents.

const (
	numEnterprise  = 500    // enterprise client accounts
	numOldTrials   = 40     // trial accounts created before the window
	numCollections = 12_000 // collections, ids 1..numCollections
	exportPageSize = 200    // documents per /v1/admin/export page
	exportItemSize = 1_090  // mean bytes of one document in an export page
	exportEnvelope = 180    // bytes of the export page envelope
)

// Account plans, as the app.account.plan attribute reports them.
const (
	planEnterprise = "enterprise"
	planTrial      = "trial"
	planPartner    = "partner"
	planInternal   = "internal"
)

// account is one DataVault customer (or internal tenant). Its id is what
// the service reports as enduser.id.
type account struct {
	index    int
	id       string
	name     string
	plan     string
	domain   string
	weight   float64 // relative traffic volume among enterprise clients
	users    int64   // users of the organisation
	userBase int64   // first user id
	colls    []int32 // collections it owns
}

// apiKey is one API credential. id is the public identifier reported as
// app.api_key_id; secret is only ever sent in the Authorization header.
type apiKey struct {
	id     string
	secret string
	acct   *account
	admin  bool
	ci     bool // used by the account's CI pipeline, from ever-changing runner addresses
}

// world holds the identities and objects every scenario draws on.
type world struct {
	seed        uint64
	accounts    []*account
	keys        []*apiKey
	keyBySecret map[string]*apiKey
	byEmail     map[string]*account // login e-mail domain → account

	enterprise []*account // numEnterprise accounts, by index
	oldTrials  []*account
	partner    *account // the nightly bulk-sync partner
	partnerKey *apiKey
	internal   *account // internal services and monitoring
	indexerKey *apiKey
	billingKey *apiKey
	monitorKey *apiKey

	// Accounts the attack scenarios sign up or use.
	exfil       *account
	exfilKey    *apiKey
	bola        *account
	bolaKey     *apiKey
	scraper     *account
	scraperKey  *apiKey
	nextAccount int // first account number free for signups inside the window

	collOwner     []int32 // collection id → account index
	collDocs      []int32 // collection id → document count
	collStart     []int64 // collection id → first document id
	partnerShared []int32 // collections shared with the partner, ascending
	maxDocID      int64
	maxUserID     int64
	ciKeys        []*apiKey // keys enterprise clients use in their CI pipelines
}

// newRand returns the PCG-backed generator of one named stream of a seed.
// Streams keep actors independent: adding an actor never changes the
// requests of another.
func newRand(seed uint64, stream string) *rand.Rand {
	return rand.New(rand.NewPCG(seed, fnv64(stream)))
}

// mix64 is the splitmix64 finaliser: a cheap, well-spread hash of x.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

var worlds sync.Map // seed → *world

// worldFor returns the world of a seed, building it on first use. A world
// is never modified once built, so callers may share it.
func worldFor(seed uint64) *world {
	if w, ok := worlds.Load(seed); ok {
		return w.(*world)
	}
	w, _ := worlds.LoadOrStore(seed, newWorld(seed))
	return w.(*world)
}

// newWorld builds the world of a seed. It is deterministic and takes a few
// milliseconds.
func newWorld(seed uint64) *world {
	r := newRand(seed, "world")
	w := &world{
		seed:        seed,
		keyBySecret: make(map[string]*apiKey),
		byEmail:     make(map[string]*account),
	}
	// Accounts created before the window, in creation order.
	type pending struct {
		plan string
		kind int
	}
	var order []pending
	for i := 0; i < numEnterprise; i++ {
		order = append(order, pending{planEnterprise, 0})
	}
	for i := 0; i < 3; i++ {
		order = append(order, pending{planPartner, i})
	}
	order = append(order, pending{planInternal, 0})
	for i := 0; i < numOldTrials; i++ {
		order = append(order, pending{planTrial, 0})
	}
	r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	num := 10_000 + r.IntN(900)
	names := newNameSource(r)
	for _, p := range order {
		num += 1 + r.IntN(6)
		a := w.addAccount(num, p.plan, names.next())
		switch {
		case p.plan == planEnterprise:
			w.enterprise = append(w.enterprise, a)
		case p.plan == planTrial:
			w.oldTrials = append(w.oldTrials, a)
		case p.plan == planPartner && p.kind == 0:
			w.partner = a
			a.name, a.domain = "DocuSync Partners", "docusync.io"
		case p.plan == planInternal:
			w.internal = a
			a.name, a.domain = "DataVault Internal", "datavault.example"
		}
	}
	// Trials the attack scenarios use, newest of all.
	num += 40 + r.IntN(30)
	w.scraper = w.addAccount(num, planTrial, orgName{"Kestrel Research", "protonmail.com"})
	num += 60 + r.IntN(30)
	w.exfil = w.addAccount(num, planTrial, orgName{"J. Smith", "sharklasers.com"})
	num += 30 + r.IntN(20)
	w.bola = w.addAccount(num, planTrial, orgName{"Test Org", "yopmail.com"})
	w.nextAccount = num + 20 + r.IntN(10)

	// Enterprise volume: Zipf-like ranks with log-normal noise.
	ranks := r.Perm(numEnterprise)
	for i, a := range w.enterprise {
		a.weight = math.Pow(float64(ranks[i]+1), -0.9) * math.Exp(0.25*r.NormFloat64())
	}
	// Users per organisation.
	var uid int64 = 1000
	for _, a := range w.accounts {
		n := int64(3 + math.Exp(2.5+0.9*r.NormFloat64()))
		if a.plan == planTrial {
			n = 1 + int64(r.IntN(3))
		}
		a.users, a.userBase = n, uid
		uid += n + int64(r.IntN(20))
	}
	w.maxUserID = uid

	// API keys.
	for _, a := range w.enterprise {
		n := 1 + r.IntN(2)
		for k := 0; k < n; k++ {
			w.addKey(r, a, k == 0 && r.Float64() < 0.3)
		}
	}
	for _, a := range w.oldTrials {
		w.addKey(r, a, false)
	}
	w.partnerKey = w.addKey(r, w.partner, false)
	for _, a := range w.accounts {
		if a.plan == planPartner && a != w.partner {
			w.addKey(r, a, false)
		}
	}
	w.indexerKey = w.addKey(r, w.internal, false)
	w.billingKey = w.addKey(r, w.internal, true)
	w.monitorKey = w.addKey(r, w.internal, false)
	for _, i := range r.Perm(numEnterprise)[:25] {
		k := w.addKey(r, w.enterprise[i], false)
		k.ci = true
		w.ciKeys = append(w.ciKeys, k)
	}
	w.scraperKey = w.addKey(r, w.scraper, false)
	w.exfilKey = w.addKey(r, w.exfil, false)
	w.bolaKey = w.addKey(r, w.bola, false)

	w.buildCollections(r)
	calibrateExfil(w)
	w.layoutDocuments(r)
	return w
}

type orgName struct{ name, domain string }

func (w *world) addAccount(num int, plan string, n orgName) *account {
	a := &account{index: len(w.accounts), id: "acct_" + strconv.Itoa(num), name: n.name, plan: plan, domain: n.domain}
	w.accounts = append(w.accounts, a)
	if _, taken := w.byEmail[n.domain]; !taken {
		w.byEmail[n.domain] = a
	}
	return a
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

func randToken(r *rand.Rand, prefix string, n int) string {
	b := make([]byte, len(prefix)+n)
	copy(b, prefix)
	for i := len(prefix); i < len(b); i++ {
		b[i] = base62[r.IntN(len(base62))]
	}
	return string(b)
}

func (w *world) addKey(r *rand.Rand, a *account, admin bool) *apiKey {
	k := &apiKey{id: randToken(r, "dvk_", 16), secret: randToken(r, "dvs_live_", 32), acct: a, admin: admin}
	w.keys = append(w.keys, k)
	w.keyBySecret[k.secret] = k
	return k
}

// keysOf returns the production (non-CI) keys of an account, in creation
// order.
func (w *world) keysOf(a *account) []*apiKey {
	var out []*apiKey
	for _, k := range w.keys {
		if k.acct == a && !k.ci {
			out = append(out, k)
		}
	}
	return out
}

// buildCollections assigns the collections to owners (every account that
// existed before the window owns at least one; larger clients own more)
// and draws their document counts.
func (w *world) buildCollections(r *rand.Rand) {
	owners := make([]int32, 0, numCollections)
	var cum []float64
	var idx []int32
	total := 0.0
	for _, a := range w.accounts {
		if a == w.exfil || a == w.bola || a == w.scraper {
			continue
		}
		owners = append(owners, int32(a.index))
		wt := 0.002
		switch a.plan {
		case planEnterprise:
			wt = math.Pow(a.weight, 0.6)
		case planPartner, planInternal:
			wt = 0.01
		}
		total += wt
		cum = append(cum, total)
		idx = append(idx, int32(a.index))
	}
	for len(owners) < numCollections {
		x := r.Float64() * total
		i, _ := slices.BinarySearch(cum, x)
		owners = append(owners, idx[min(i, len(idx)-1)])
	}
	r.Shuffle(len(owners), func(i, j int) { owners[i], owners[j] = owners[j], owners[i] })
	w.collOwner = make([]int32, numCollections+1)
	w.collDocs = make([]int32, numCollections+1)
	w.collOwner[0] = -1
	for c := 1; c <= numCollections; c++ {
		o := owners[c-1]
		w.collOwner[c] = o
		w.accounts[o].colls = append(w.accounts[o].colls, int32(c))
		docs := int32(math.Exp(6.25 + 0.75*r.NormFloat64()))
		w.collDocs[c] = max(1, min(docs, 12_000))
		if r.Float64() < 0.1 {
			w.partnerShared = append(w.partnerShared, int32(c))
		}
	}
}

// layoutDocuments gives each collection a contiguous block of document ids,
// with gaps where documents were deleted.
func (w *world) layoutDocuments(r *rand.Rand) {
	w.collStart = make([]int64, numCollections+2)
	next := int64(100_000)
	for c := 1; c <= numCollections; c++ {
		w.collStart[c] = next
		next += int64(w.collDocs[c]) + int64(r.IntN(int(w.collDocs[c])/8+2))
	}
	w.collStart[numCollections+1] = next
	w.maxDocID = next
}

// pages returns how many export pages collection c has.
func (w *world) pages(c int) int {
	return (int(w.collDocs[c]) + exportPageSize - 1) / exportPageSize
}

// docCollection returns the collection holding document id, or 0 when no
// document has that id (never created, or deleted).
func (w *world) docCollection(id int64) int {
	if id < w.collStart[1] || id >= w.maxDocID {
		return 0
	}
	i, found := slices.BinarySearch(w.collStart[1:numCollections+1], id)
	c := i + 1
	if !found {
		c = i
	}
	if id >= w.collStart[c]+int64(w.collDocs[c]) {
		return 0
	}
	return c
}

// linkShared reports whether document id has a public share link. The
// service's flaw: it lets any API key read such a document through
// GET /v1/documents/{id}, not only holders of the link (broken object-level
// authorisation).
func (w *world) linkShared(id int64) bool {
	return mix64(uint64(id)^w.seed)%100 < 4
}

// randomDoc returns an existing document of collection c.
func (w *world) randomDoc(r *rand.Rand, c int32) int64 {
	return w.collStart[c] + r.Int64N(int64(w.collDocs[c]))
}

// deletedDoc returns a document id that no longer exists near collection c.
func (w *world) deletedDoc(r *rand.Rand, c int32) int64 {
	gapStart := w.collStart[c] + int64(w.collDocs[c])
	gap := w.collStart[c+1] - gapStart
	if gap <= 0 {
		return w.maxDocID + r.Int64N(1000)
	}
	return gapStart + r.Int64N(gap)
}

// exportBytes is the size of the /v1/admin/export response for page of
// collection c: the backfill's model of what the live handler writes.
func (w *world) exportBytes(c, page int) int64 {
	if c < 1 || c > numCollections {
		return errorBodyBytes
	}
	n := exportDocsOnPage(int(w.collDocs[c]), page)
	return exportEnvelope + int64(n)*exportItemBytes(c)
}

// exportItemBytes is the size of one document of collection c in an export
// page: metadata richness (text preview, tags) varies a little by collection.
func exportItemBytes(c int) int64 {
	return exportItemSize + int64(mix64(uint64(c))%120) - 60
}

func exportDocsOnPage(docs, page int) int {
	if page < 1 {
		return 0
	}
	n := docs - (page-1)*exportPageSize
	return max(0, min(n, exportPageSize))
}

// errorBodyBytes is the size of a JSON error body.
const errorBodyBytes = 96

// nameSource draws plausible, unique organisation names and domains.
type nameSource struct {
	r    *rand.Rand
	seen map[string]bool
}

func newNameSource(r *rand.Rand) *nameSource { return &nameSource{r: r, seen: map[string]bool{}} }

var (
	namePrefix = []string{"North", "Blue", "Iron", "Silver", "Harbor", "Summit", "Cedar", "Granite", "Atlas", "Polar",
		"Redwood", "Vertex", "Lumen", "Orchid", "Crescent", "Pioneer", "Beacon", "Sterling", "Falcon", "Meridian",
		"Quantum", "Evergreen", "Copper", "Horizon", "Keystone", "Maple", "Oakridge", "Pinnacle", "Riverstone", "Sapphire"}
	nameSuffix = []string{"wind", "field", "gate", "line", "point", "bridge", "stone", "crest", "worth", "brook",
		"dale", "peak", "haven", "ford", "mark", "shore", "view", "well", "wood", "vale"}
	nameKind = []string{"Logistics", "Health", "Legal", "Capital", "Insurance", "Energy", "Systems", "Partners",
		"Manufacturing", "Pharma", "Retail", "Media", "Analytics", "Holdings", "Labs", "Bank", "Engineering", "Foods"}
	nameTLD = []string{".com", ".com", ".com", ".io", ".co.uk", ".de", ".net", ".fr", ".com.au", ".nl"}
)

func (s *nameSource) next() orgName {
	for {
		base := namePrefix[s.r.IntN(len(namePrefix))] + nameSuffix[s.r.IntN(len(nameSuffix))]
		kind := nameKind[s.r.IntN(len(nameKind))]
		name := base + " " + kind
		if s.seen[name] {
			continue
		}
		s.seen[name] = true
		return orgName{name, strings.ToLower(base+"-"+kind) + nameTLD[s.r.IntN(len(nameTLD))]}
	}
}
