package app

import (
	"fmt"
	"time"

	"github.com/tracehound/tracehound/config"
	"github.com/tracehound/tracehound/forensics"
	"github.com/tracehound/tracehound/ipintel"
	"github.com/tracehound/tracehound/llm"
)

// openLLM returns the configured chat-completions client, or nil when
// none is configured.
func openLLM(c config.LLM) (*llm.Client, error) {
	if c.BaseURL == "" {
		if c.Model != "" || c.APIKey != "" || c.APIKeyFile != "" {
			return nil, fmt.Errorf("llm: model or key set without base_url")
		}
		return nil, nil
	}
	key, err := ipintel.LoadAPIKey(c.APIKey, c.APIKeyFile)
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	cl, err := llm.New(llm.Config{BaseURL: c.BaseURL, Model: c.Model, APIKey: llm.Secret(key), Timeout: time.Duration(c.Timeout), MaxTokens: c.MaxTokens})
	if err != nil {
		return nil, fmt.Errorf("llm: %w", err)
	}
	return cl, nil
}

// translator is the LLM that reads questions the grammar refuses, or nil.
func (a *App) translator() forensics.IRTranslator {
	if a.llm == nil {
		return nil
	}
	return a.llm
}
