package app

import (
	"log/slog"
	"net/http"
	"net/http/pprof"
)

// startPprof serves Go's profiler on addr (TRACEHOUND_PPROF, e.g.
// 127.0.0.1:6060) for performance work. It is off unless asked for, and
// belongs on loopback: profiles reveal internals.
func startPprof(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() {
		if err := http.ListenAndServe(addr, mux); err != nil {
			log.Error("pprof server", "addr", addr, "err", err)
		}
	}()
	log.Warn("profiler listening; do not expose it", "addr", addr)
}
