package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Streamed answers (POST …?stream=true) are newline-delimited JSON: progress
// lines while the work advances, then one line with the result or an error.
// Each line is flushed as it is written, so that a long run shows progress
// and keeps the connection busy.

// streamLineTimeout bounds the wait for the next line of a streamed answer.
// Every line the server writes pushes its write deadline this far ahead, so
// a run that keeps reporting progress outlasts the server's write timeout;
// the client gives up when no line comes for this long.
const streamLineTimeout = 10 * time.Minute

// errStreamIdle ends a streamed answer that sent no line for
// streamLineTimeout.
var errStreamIdle = errors.New("no progress from the server")

// errorDetail is the error of a streamed answer's last line.
type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// startStream answers 200 with newline-delimited JSON and returns the
// function that writes one line. Lines are written from the handler's
// goroutine only.
func startStream(w http.ResponseWriter) func(line any) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "application/x-ndjson")
	rc.SetWriteDeadline(time.Now().Add(streamLineTimeout))
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	return func(line any) {
		rc.SetWriteDeadline(time.Now().Add(streamLineTimeout))
		enc.Encode(line)
		rc.Flush()
	}
}

// streamError is the error line of a failed streamed answer: the error's
// code, and its message when it may be shown (classify).
func streamError(log *slog.Logger, err error) *errorDetail {
	_, code, public := classify(err)
	msg := err.Error()
	if !public {
		log.Error("internal error", "err", err)
		msg = "internal error; see the server log"
	}
	return &errorDetail{Code: code, Message: msg}
}

// postStream posts in as JSON to path, a streamed route, and hands each
// line of the answer to handle until handle reports the last one. A line
// must come within streamLineTimeout; ctx bounds the whole answer, which
// may take longer than the client's usual timeout.
func postStream[L any](ctx context.Context, c *Client, path string, in any, handle func(L) (bool, error)) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	idle := time.AfterFunc(streamLineTimeout, func() { cancel(errStreamIdle) })
	defer idle.Stop()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base.String()+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	c.authorize(hr)
	hc := *c.http
	hc.Timeout = 0 // the lines are timed, not the answer
	resp, err := hc.Do(hr)
	if err != nil {
		if errors.Is(context.Cause(ctx), errStreamIdle) {
			return fmt.Errorf("POST %s: %w in %s", path, errStreamIdle, streamLineTimeout)
		}
		return fmt.Errorf("cannot reach tracehound at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		var eb errorBody
		if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
			return fmt.Errorf("POST %s: server answered %s", path, resp.Status)
		}
		return remoteError(eb.Error.Code, eb.Error.Message)
	}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		return fmt.Errorf("POST %s: the server does not stream this answer", path)
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var line L
		if err := dec.Decode(&line); err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return fmt.Errorf("POST %s: the stream ended without a result", path)
			case errors.Is(context.Cause(ctx), errStreamIdle):
				return fmt.Errorf("POST %s: %w in %s", path, errStreamIdle, streamLineTimeout)
			}
			return fmt.Errorf("read the answer of %s from %s: %w", path, c.base, err)
		}
		idle.Reset(streamLineTimeout)
		if last, err := handle(line); last || err != nil {
			return err
		}
	}
}
