// Package llm is the optional language-model layer: a client for the
// OpenAI-compatible chat-completions API (OpenAI, Ollama, llama.cpp's
// llama-server, vLLM and the like) that asks for JSON in a given schema and
// checks what comes back, and Narrate, which turns the computed findings of
// an investigation into prose.
//
// Nothing in tracehound needs a model. Every caller has a deterministic
// answer and uses the model only to rephrase it or, for questions the
// grammar cannot read, to fill the same typed structure the grammar would.
// So the package trusts no output: the content must be one JSON value that
// matches the request's schema (validated here, because local servers may
// ignore the schema), Narrate rejects a summary that states a number the
// facts do not hold, and a model's risk opinion is clamped to ±10 of the
// computed score. Errors say what went wrong (a refused key, a rate limit
// and when to retry, a timeout, a truncated or invalid answer) so that the
// caller can fall back and explain why.
//
// The API key is a Secret: it formats, logs and marshals as "[REDACTED]",
// and server messages that echo it are scrubbed before they reach an error.
package llm
