package alert

import (
	"fmt"
	"math"
	"strings"
	"text/template"
	"time"

	"github.com/tracehound/tracehound/store"
)

// templateFuncs are available in annotation templates, besides the
// text/template built-ins (printf, len, index…).
var templateFuncs = template.FuncMap{
	"humanize":           humanize,
	"humanizeBytes":      humanizeBytes,
	"humanizeDuration":   humanizeDuration,
	"humanizePercentage": humanizePercentage,
	"toUpper":            strings.ToUpper,
	"toLower":            strings.ToLower,
	"join":               func(sep string, xs []any) string { return joinAny(sep, xs) },
	"default": func(def, v any) any {
		if v == nil || v == "" {
			return def
		}
		return v
	},
}

// humanize writes a number with an SI prefix: 1234567 → "1.235M".
func humanize(v any) string {
	f, ok := store.AsFloat64(v)
	if !ok {
		return fmt.Sprint(v)
	}
	abs := math.Abs(f)
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if abs >= u.div {
			return trimFloat(f/u.div) + u.suffix
		}
	}
	return trimFloat(f)
}

// humanizeBytes writes a byte count in binary units: 191488 → "187 KiB".
func humanizeBytes(v any) string {
	f, ok := store.AsFloat64(v)
	if !ok {
		return fmt.Sprint(v)
	}
	units := []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB"}
	i := 0
	for math.Abs(f) >= 1024 && i < len(units)-1 {
		f /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f B", f)
	}
	return trimFloat(f) + " " + units[i]
}

// humanizeDuration writes seconds (a number) or a time.Duration as a
// duration: 5400 → "1h30m0s".
func humanizeDuration(v any) string {
	if d, ok := v.(time.Duration); ok {
		return d.String()
	}
	f, ok := store.AsFloat64(v)
	if !ok {
		return fmt.Sprint(v)
	}
	return time.Duration(f * float64(time.Second)).Round(time.Millisecond).String()
}

// humanizePercentage writes a ratio as a percentage: 0.256 → "25.6%".
func humanizePercentage(v any) string {
	f, ok := store.AsFloat64(v)
	if !ok {
		return fmt.Sprint(v)
	}
	return trimFloat(f*100) + "%"
}

func trimFloat(f float64) string {
	s := fmt.Sprintf("%.4g", f)
	if strings.Contains(s, "e") {
		return fmt.Sprintf("%.0f", f)
	}
	return s
}

func joinAny(sep string, xs []any) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = fmt.Sprint(x)
	}
	return strings.Join(parts, sep)
}

// expand executes the rule's annotation templates over data; an error
// shows in the annotation rather than failing the rule (Prometheus).
func (r *Rule) expand(data map[string]any) map[string]string {
	out := make(map[string]string, len(r.annotations))
	for name, t := range r.annotations {
		var b strings.Builder
		if err := t.Execute(&b, data); err != nil {
			out[name] = fmt.Sprintf("<error expanding template: %v>", err)
			continue
		}
		out[name] = b.String()
	}
	return out
}
