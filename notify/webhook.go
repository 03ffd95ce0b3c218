package notify

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
)

// webhookNotifier posts the Alertmanager v4 payload.
type webhookNotifier struct {
	cfg    *WebhookConfig
	client *http.Client
}

func (w *webhookNotifier) notify(ctx context.Context, m *Message) (bool, error) {
	body, err := json.Marshal(webhookPayload(m, w.cfg.MaxAlerts))
	if err != nil {
		return false, err
	}
	header := http.Header{}
	switch {
	case w.cfg.BearerToken != "":
		header.Set("Authorization", "Bearer "+string(w.cfg.BearerToken))
	case w.cfg.BasicAuth != nil:
		cred := w.cfg.BasicAuth.Username + ":" + string(w.cfg.BasicAuth.Password)
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	}
	return post(ctx, w.client, string(w.cfg.URL), header, body)
}

// post sends a JSON body. It reports a failure as retryable when the
// network failed or the server answered 429 or 5xx. Its errors never hold
// the URL, which is often a secret (Slack webhook URLs are credentials).
func post(ctx context.Context, client *http.Client, target string, header http.Header, body []byte) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return false, errors.New("build request: bad URL")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "tracehound")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return true, fmt.Errorf("post to %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		return false, nil
	}
	err = fmt.Errorf("post to %s: %s: %q", req.URL.Host, resp.Status, bytes.TrimSpace(snippet))
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500, err
}
