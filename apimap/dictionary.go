package apimap

import (
	_ "embed"
	"strings"
)

// wordList is the embedded dictionary; see the header of words.txt.
//
//go:embed words.txt
var wordList string

// dictionary holds the lowercase words of words.txt.
var dictionary = loadDictionary(wordList)

func loadDictionary(text string) map[string]struct{} {
	words := make(map[string]struct{}, 4096)
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		words[strings.ToLower(line)] = struct{}{}
	}
	return words
}

// maxWordTokens is the most words a dictionary segment may have. Resource
// names have one to three words (payment-methods, get-user-preferences);
// longer runs of words are content slugs such as how-to-train-your-dragon,
// which are values.
const maxWordTokens = 3

// fileExtensions are the extensions that make a segment a file name. A file
// name is left undecided rather than treated as words, so that the trie can
// collapse a folder full of files while a lone /openapi.json stays literal.
var fileExtensions = map[string]struct{}{
	"pdf": {}, "png": {}, "jpg": {}, "jpeg": {}, "gif": {}, "svg": {}, "webp": {}, "ico": {}, "bmp": {}, "tif": {}, "tiff": {},
	"css": {}, "js": {}, "mjs": {}, "map": {}, "json": {}, "xml": {}, "yaml": {}, "yml": {}, "txt": {}, "csv": {}, "tsv": {},
	"html": {}, "htm": {}, "md": {}, "zip": {}, "gz": {}, "tgz": {}, "tar": {}, "rar": {}, "7z": {}, "mp3": {}, "mp4": {},
	"mov": {}, "avi": {}, "webm": {}, "wav": {}, "ogg": {}, "doc": {}, "docx": {}, "xls": {}, "xlsx": {}, "ppt": {},
	"pptx": {}, "odt": {}, "rtf": {}, "woff": {}, "woff2": {}, "ttf": {}, "eot": {}, "bin": {}, "exe": {}, "dmg": {},
	"apk": {}, "iso": {}, "log": {}, "rss": {}, "atom": {}, "ics": {}, "vcf": {}, "epub": {}, "heic": {}, "avif": {},
}

// isDictionarySegment reports whether seg is made of at most maxWordTokens
// known words, split on - _ . ~ and camelCase (onboardingStatus,
// payment-methods, api-v2). A number of at most two digits and a version
// (v2) count as words; a file name (report.pdf) never does.
func isDictionarySegment(seg string) bool {
	if dot := strings.LastIndexByte(seg, '.'); dot > 0 {
		if hasFileExtension(seg[dot+1:]) {
			return false
		}
	}
	count, ok, letters := 0, true, false
	forEachToken(seg, func(tok string) bool {
		count++
		if count > maxWordTokens || !isWordToken(tok) {
			ok = false
			return false
		}
		if !allDigits(tok) {
			letters = true
		}
		return true
	})
	return ok && letters && count > 0
}

func hasFileExtension(ext string) bool {
	var buf [8]byte
	if len(ext) == 0 || len(ext) > len(buf) {
		return false
	}
	_, ok := fileExtensions[string(lowerInto(buf[:0], ext))]
	return ok
}

// forEachToken calls fn with each token of s, split on - _ . ~ and at
// camelCase boundaries (onboardingStatus → onboarding Status, HTTPServer →
// HTTP Server). Digits stay with the letters around them (oauth2, user123).
// It stops early when fn returns false.
func forEachToken(s string, fn func(tok string) bool) {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == '_' || c == '.' || c == '~' {
			if i > start && !fn(s[start:i]) {
				return
			}
			start = i + 1
			continue
		}
		if i > start && isUpper(c) {
			prev := s[i-1]
			nextLower := i+1 < len(s) && isLower(s[i+1])
			if isLower(prev) || isDigit(prev) || isUpper(prev) && nextLower {
				if !fn(s[start:i]) {
					return
				}
				start = i
			}
		}
	}
	if start < len(s) {
		fn(s[start:])
	}
}

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isLower(c byte) bool { return c >= 'a' && c <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// lowerInto appends the ASCII-lowercase form of s to dst.
func lowerInto(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUpper(c) {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// isWordToken reports whether one token is a dictionary word, a reserved
// segment (api, v2), a number of at most two digits, or letters and short
// numbers run together (page2).
func isWordToken(tok string) bool {
	var buf [48]byte
	if len(tok) > len(buf) {
		return false
	}
	w := lowerInto(buf[:0], tok)
	if isWordBytes(w) {
		return true
	}
	if allDigitBytes(w) {
		return len(w) <= 2
	}
	if isReserved(string(w)) {
		return true
	}
	// Split letter runs from digit runs: every letter run must be a word
	// of two letters or more, every digit run at most two digits.
	runs := 0
	for i := 0; i < len(w); {
		j := i
		digits := isDigit(w[i])
		for j < len(w) && isDigit(w[j]) == digits {
			j++
		}
		switch {
		case digits && j-i > 2:
			return false
		case !digits && (j-i < 2 || !isWordBytes(w[i:j])):
			return false
		}
		runs++
		i = j
	}
	return runs > 1
}

func allDigitBytes(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// isWordBytes reports whether the lowercase w is in the dictionary, directly
// or as a regular inflection of a listed word: plurals (-s, -es, -ies, -ves),
// -ing, -ed and -er forms, including a doubled final consonant (shipped,
// shopping) and a dropped final e (archived, uploader).
func isWordBytes(w []byte) bool {
	if isStem(w) {
		return true
	}
	var buf [64]byte
	n := len(w)
	switch {
	case n > 4 && hasSuffix(w, "ies"):
		return isStem(joinBytes(&buf, w[:n-3], "y"))
	case n > 4 && hasSuffix(w, "ves"):
		return isStem(joinBytes(&buf, w[:n-3], "f")) || isStem(joinBytes(&buf, w[:n-3], "fe")) || isStem(w[:n-1])
	case n > 3 && hasSuffix(w, "es"):
		return isStem(w[:n-2]) || isStem(w[:n-1])
	case n > 2 && w[n-1] == 's' && w[n-2] != 's':
		return isStem(w[:n-1])
	}
	return false
}

// isStem reports whether w is a listed word or an -ing, -ed or -er form of one.
func isStem(w []byte) bool {
	if inDictionary(w) {
		return true
	}
	var buf [64]byte
	n := len(w)
	for _, suffix := range [...]string{"ing", "ed", "er"} {
		k := len(suffix)
		if n-k < 2 || !hasSuffix(w, suffix) {
			continue
		}
		stem := w[:n-k]
		last := len(stem) - 1
		switch {
		case inDictionary(stem), inDictionary(joinBytes(&buf, stem, "e")):
			return true
		case last >= 2 && stem[last] == stem[last-1] && inDictionary(stem[:last]):
			return true
		case suffix == "ed" && stem[last] == 'i' && inDictionary(joinBytes(&buf, stem[:last], "y")):
			return true
		}
	}
	return false
}

func inDictionary(w []byte) bool {
	_, ok := dictionary[string(w)]
	return ok
}

// joinBytes returns stem+suffix in buf, without allocating; the result is
// only valid until buf is used again.
func joinBytes(buf *[64]byte, stem []byte, suffix string) []byte {
	if len(stem)+len(suffix) > len(buf) {
		return nil
	}
	return append(append(buf[:0], stem...), suffix...)
}

func hasSuffix(w []byte, suffix string) bool {
	return len(w) >= len(suffix) && string(w[len(w)-len(suffix):]) == suffix
}

// irregularSingulars maps plurals that the suffix rules get wrong.
var irregularSingulars = map[string]string{
	"people": "person", "children": "child", "men": "man", "women": "woman",
	"indices": "index", "matrices": "matrix", "vertices": "vertex",
	"analyses": "analysis", "statuses": "status", "aliases": "alias",
	"addresses": "address", "data": "data", "media": "media", "criteria": "criterion",
	"series": "series", "species": "species", "news": "news", "feet": "foot",
	"mice": "mouse", "geese": "goose", "teeth": "tooth", "quizzes": "quiz",
	"buses": "bus", "responses": "response", "licenses": "license", "cases": "case",
	"databases": "database", "releases": "release", "purchases": "purchase",
	"courses": "course", "houses": "house", "phases": "phase", "bases": "base",
	"leases": "lease", "uses": "use", "causes": "cause", "clauses": "clause",
	"expenses": "expense", "diagnoses": "diagnosis", "hypotheses": "hypothesis",
	"invoices": "invoice", "devices": "device", "services": "service", "prices": "price",
	"caches": "cache", "archives": "archive", "files": "file", "profiles": "profile",
	"movies": "movie", "cookies": "cookie", "ties": "tie", "lies": "lie", "pies": "pie", "ids": "id",
}

// singular returns the singular of a lowercase English noun, by a table of
// irregular plurals and then the usual suffix rules. Words that are not
// plurals, and words of three letters or fewer (js, dns), come back
// unchanged.
func singular(word string) string {
	if s, ok := irregularSingulars[word]; ok {
		return s
	}
	n := len(word)
	switch {
	case n > 4 && strings.HasSuffix(word, "ies"):
		return word[:n-3] + "y"
	case n > 4 && strings.HasSuffix(word, "sses"):
		return word[:n-2]
	case n > 3 && (strings.HasSuffix(word, "xes") || strings.HasSuffix(word, "ches") ||
		strings.HasSuffix(word, "shes") || strings.HasSuffix(word, "zzes")):
		return word[:n-2]
	case strings.HasSuffix(word, "ss"), strings.HasSuffix(word, "us"), strings.HasSuffix(word, "is"):
		return word
	case n > 3 && word[n-1] == 's':
		return word[:n-1]
	}
	return word
}
