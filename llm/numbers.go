package llm

import (
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// quantity is a number as prose writes it ("3,847", "~187 KB", "87%",
// "2.3 GB") with the values it may stand for, or an identifier holding
// digits (an address, a date, a prefix) that is compared verbatim.
type quantity struct {
	// Text is the number or identifier as written, with its unit.
	Text string
	// Ident marks an identifier; Value and the rest are then unset.
	Ident bool
	// Value is the number without its unit, Tolerance half a unit of its
	// last written digit ("3.8" ± 0.05, "3,800" ± 50), and Scales the
	// factors its unit may mean (KB: 1000 or 1024; %: 1 or 1/100).
	Value, Tolerance float64
	Scales           []float64
}

// numberRE splits a token into its number (with optional thousands
// separators and decimals) and what follows.
var numberRE = regexp.MustCompile(`^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(.*)$`)

// unitScales are the factors a unit written after a number may mean.
var unitScales = map[string][]float64{
	"": {1}, "%": {1, 0.01}, "percent": {1, 0.01},
	"k": {1e3}, "thousand": {1e3},
	"m": {1e6, 1}, "mn": {1e6}, "million": {1e6},
	"bn": {1e9}, "billion": {1e9}, "b": {1, 1e9},
	"kb": {1e3, 1 << 10}, "kib": {1 << 10},
	"mb": {1e6, 1 << 20}, "mib": {1 << 20},
	"gb": {1e9, 1 << 30}, "gib": {1 << 30},
	"tb": {1e12, 1 << 40}, "tib": {1 << 40},
	"byte": {1}, "bytes": {1},
	// Units that do not scale: time and ordinals written against the number.
	"x": {1}, "h": {1}, "d": {1}, "s": {1}, "ms": {1}, "w": {1},
	"st": {1}, "nd": {1}, "rd": {1}, "th": {1},
	// A score out of 100: "92/100" states 92.
	"/100": {1},
}

// scanQuantities returns the numbers and digit-holding identifiers of s.
// Words that start with a letter ("T1530", "dvk_9x2", "v1.2") are neither:
// they are names, not figures.
func scanQuantities(s string) []quantity {
	var out []quantity
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case unicode.IsLetter(r) || r == '_':
			for i < len(s) {
				r, size := utf8.DecodeRuneInString(s[i:])
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_.-:/", r) {
					break
				}
				i += size
			}
			continue
		case r < '0' || r > '9':
			i += size
			continue
		}
		j := i
		for j < len(s) && isTokenByte(s[j]) {
			j++
		}
		tok := strings.TrimRight(s[i:j], ".,:/-")
		i = j
		q, ok := parseQuantity(tok)
		if !ok {
			out = append(out, quantity{Text: tok, Ident: true})
			continue
		}
		if len(q.Scales) == 0 {
			// A unit may follow after a space: "187 KB", "2.3 million".
			unit, n := nextWord(s[i:])
			if scales, ok := unitScales[strings.ToLower(unit)]; ok && unit != "" {
				q.Text += " " + unit
				q.Scales = scales
				i += n
			} else {
				q.Scales = unitScales[""]
			}
		}
		out = append(out, q)
	}
	return out
}

func isTokenByte(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("_.,:/%-", c) >= 0
}

// parseQuantity reads a token that starts with a digit. It reports false
// for an identifier. Scales is left empty when no unit is attached.
func parseQuantity(tok string) (quantity, bool) {
	m := numberRE.FindStringSubmatch(tok)
	if m == nil {
		return quantity{}, false
	}
	digits := strings.ReplaceAll(m[1], ",", "")
	v, err := strconv.ParseFloat(digits+"."+m[2]+"0", 64)
	if err != nil || math.IsInf(v, 0) {
		return quantity{}, false
	}
	q := quantity{Text: tok, Value: v}
	if m[2] != "" {
		q.Tolerance = 0.5 * math.Pow(10, -float64(len(m[2])))
	} else {
		zeros := len(digits) - len(strings.TrimRight(digits, "0"))
		if zeros == len(digits) {
			zeros = 0
		}
		// Trailing zeros are a rounding ("about 3,800"), but at least two
		// significant digits must hold: "100" is 95–105, not 50–150.
		q.Tolerance = 0.5 * math.Pow(10, float64(min(zeros, max(len(digits)-2, 0))))
	}
	rest := m[3]
	switch {
	case rest == "":
	case strings.HasPrefix(rest, "-") && len(rest) > 1 && unicode.IsLetter(rune(rest[1])):
		// "80-hour", "7-day": a number used as an adjective.
		q.Text = tok[:len(tok)-len(rest)]
		q.Scales = unitScales[""]
	default:
		scales, ok := unitScales[strings.ToLower(rest)]
		if !ok {
			return quantity{}, false
		}
		q.Scales = scales
	}
	return q, true
}

// nextWord returns the word after at most one space (or "%" directly) and
// the bytes to consume with it.
func nextWord(s string) (string, int) {
	if strings.HasPrefix(s, "%") {
		return "%", 1
	}
	n := 0
	if r, size := utf8.DecodeRuneInString(s); r == ' ' || r == '\u00a0' {
		n = size
	} else {
		return "", 0
	}
	if strings.HasPrefix(s[n:], "%") {
		return "%", n + 1
	}
	end := n
	for end < len(s) {
		r, size := utf8.DecodeRuneInString(s[end:])
		if !unicode.IsLetter(r) {
			break
		}
		end += size
	}
	return s[n:end], end
}

// facts are the figures a text may state: values and identifiers.
type factSet struct {
	values []float64
	idents map[string]bool
}

// add records the numbers and identifiers written in text, each number
// with every value its unit may mean.
func (f *factSet) add(text string) {
	for _, q := range scanQuantities(text) {
		if q.Ident {
			f.idents[strings.ToLower(q.Text)] = true
			continue
		}
		for _, s := range q.Scales {
			f.values = append(f.values, q.Value*s)
		}
	}
}

// grounded reports whether q states a fact: an identifier written in the
// facts, or a number that rounds to one of the facts' values under one of
// its unit's meanings.
func (f *factSet) grounded(q quantity) bool {
	if q.Ident {
		return f.idents[strings.ToLower(q.Text)]
	}
	for _, s := range q.Scales {
		v, tol := q.Value*s, q.Tolerance*s
		for _, x := range f.values {
			x = math.Abs(x)
			if math.Abs(v-x) <= tol+1e-9*math.Max(x, 1) {
				return true
			}
		}
	}
	return false
}
