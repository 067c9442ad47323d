// Package llmtest is a fake LLM endpoint for tests: one httptest server that
// speaks both OpenAI Chat Completions (/v1/chat/completions) and Anthropic
// Messages (/v1/messages), plain JSON and SSE streams, answering from a
// scripted queue of replies and faults, recording every request and counting
// requests in flight.
package llmtest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// Reply is one scripted answer. The zero Reply answers "".
type Reply struct {
	// Text is the answer (or, with Status, the error message).
	Text string
	// InputTokens and OutputTokens are the usage reported; default 11 and 7.
	InputTokens, OutputTokens int
	// Status, when non-zero, answers with this HTTP status and the vendor's
	// error body.
	Status int
	// Header is added to the response (e.g. Retry-After).
	Header map[string]string
	// Body, when set, is sent verbatim, with Status or 200: malformed JSON,
	// or a non-vendor error body such as Ollama's {"error":"…"}.
	Body string
	// Hang holds the request until the client gives up.
	Hang bool
	// Gate, when set, holds the request until it is closed.
	Gate <-chan struct{}
	// Stall (streams only) sends the first chunk and then holds the stream
	// until the client gives up.
	Stall bool
	// StreamError (streams only) ends the stream after the first chunk with
	// an in-stream error event of this vendor type ("overloaded_error").
	StreamError string
}

// Answer is a reply with this text.
func Answer(text string) Reply { return Reply{Text: text} }

// Fault is an HTTP error reply; header is key, value pairs.
func Fault(status int, header ...string) Reply {
	r := Reply{Status: status, Header: map[string]string{}}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header[header[i]] = header[i+1]
	}
	return r
}

// Malformed is a 200 whose body is not valid JSON.
func Malformed() Reply { return Reply{Body: `{"id":"broken","choices":[{"message":`} }

// Recorded is one request the server received.
type Recorded struct {
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	// Stream is the request's "stream" field.
	Stream bool
}

// Server is the fake endpoint.
type Server struct {
	// URL is the server's root: the Anthropic base URL. OpenAIURL is URL+"/v1".
	URL string

	t    testing.TB
	done chan struct{}

	mu       sync.Mutex
	queue    []Reply
	reqs     []Recorded
	inFlight int
	peak     int
	changed  chan struct{}
	respond  func(Recorded) Reply
}

// New starts a server closed at the end of the test.
func New(t testing.TB) *Server {
	s := &Server{t: t, done: make(chan struct{}), changed: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.handle(openaiWire{}))
	mux.HandleFunc("POST /v1/messages", s.handle(anthropicWire{}))
	hs := httptest.NewServer(mux)
	s.URL = hs.URL
	t.Cleanup(func() {
		close(s.done) // releases hung handlers, so Close does not wait forever
		hs.Close()
	})
	return s
}

// OpenAIURL is the base URL for OpenAI-style clients.
func (s *Server) OpenAIURL() string { return s.URL + "/v1" }

// Enqueue appends replies to the script; requests take them in order.
func (s *Server) Enqueue(rs ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, rs...)
}

// Respond answers every request the script has no reply for with fn's
// reply, chosen from the request itself (a fake that reads the prompt).
// fn runs on the request's goroutine and may be called concurrently.
func (s *Server) Respond(fn func(Recorded) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = fn
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Recorded(nil), s.reqs...)
}

// Peak is the largest number of requests ever in flight at once.
func (s *Server) Peak() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}

// WaitInFlight blocks until at least n requests are in flight or ctx ends.
func (s *Server) WaitInFlight(ctx context.Context, n int) error {
	for {
		s.mu.Lock()
		ok, ch := s.inFlight >= n, s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *Server) enter(rec Recorded) (Reply, bool) {
	s.mu.Lock()
	s.reqs = append(s.reqs, rec)
	s.inFlight++
	s.peak = max(s.peak, s.inFlight)
	s.broadcast()
	if len(s.queue) == 0 {
		respond := s.respond
		s.mu.Unlock()
		if respond == nil {
			return Reply{}, false
		}
		return respond(rec), true
	}
	defer s.mu.Unlock()
	r := s.queue[0]
	s.queue = s.queue[1:]
	return r, true
}

func (s *Server) leave() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inFlight--
	s.broadcast()
}

func (s *Server) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// wait holds a request until ch closes, the client leaves or the test ends.
func (s *Server) wait(r *http.Request, ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-r.Context().Done():
	case <-s.done:
	}
	return false
}

// request is what the handlers read from a request body.
type request struct {
	Model         string `json:"model"`
	Stream        bool   `json:"stream"`
	StreamOptions struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

func (s *Server) handle(w wire) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		var req request
		_ = json.Unmarshal(body, &req)
		rec := Recorded{Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: body, Stream: req.Stream}
		reply, ok := s.enter(rec)
		defer s.leave()
		if !ok {
			s.t.Errorf("llmtest: unscripted request to %s", r.URL.Path)
			w.fault(rw, http.StatusInternalServerError, "llmtest: no scripted reply")
			return
		}
		s.serve(rw, r, w, req, reply)
	}
}

func (s *Server) serve(rw http.ResponseWriter, r *http.Request, w wire, req request, reply Reply) {
	if reply.Gate != nil && !s.wait(r, reply.Gate) {
		return
	}
	if reply.Hang {
		s.wait(r, nil)
		return
	}
	for k, v := range reply.Header {
		rw.Header().Set(k, v)
	}
	if reply.InputTokens == 0 && reply.OutputTokens == 0 {
		reply.InputTokens, reply.OutputTokens = 11, 7
	}
	switch {
	case reply.Status != 0 && reply.Body != "":
		rw.Header().Set("Content-Type", "application/json")
		rw.WriteHeader(reply.Status)
		_, _ = io.WriteString(rw, reply.Body)
	case reply.Status != 0:
		msg := reply.Text
		if msg == "" {
			msg = http.StatusText(reply.Status)
		}
		w.fault(rw, reply.Status, msg)
	case reply.Body != "":
		rw.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(rw, reply.Body)
	case req.Stream:
		s.stream(rw, r, w, req, reply)
	default:
		writeJSON(rw, http.StatusOK, w.message(req.Model, reply))
	}
}

// stream sends the SSE events of the answer, flushing each so that clients
// see a real stream.
func (s *Server) stream(rw http.ResponseWriter, r *http.Request, w wire, req request, reply Reply) {
	rw.Header().Set("Content-Type", "text/event-stream")
	rw.Header().Set("Cache-Control", "no-cache")
	rw.WriteHeader(http.StatusOK)
	fl, _ := rw.(http.Flusher)
	evs := w.events(req, reply)
	for i, ev := range evs {
		_, _ = io.WriteString(rw, ev)
		// The last event goes out when the handler returns, after leave():
		// a client never sees a finished stream still counted in flight.
		if fl != nil && i < len(evs)-1 {
			fl.Flush()
		}
		if i == 0 && reply.Stall {
			s.wait(r, nil)
			return
		}
		if i == 0 && reply.StreamError != "" {
			_, _ = io.WriteString(rw, w.streamError(reply.StreamError))
			return
		}
	}
}

func writeJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}
