package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// sseEvent is one event of a wizard session's stream.
type sseEvent struct {
	ID   int64
	Kind string
	Tool string
	Data map[string]any
}

// streamReconnects bounds the reconnects in a row that bring no event: a
// stream the server ends early (a node restart, its StreamMax) is resumed,
// a server that keeps failing is given up on.
const streamReconnects = 5

// errStreamDone is a stream that ended with the server's "end" event.
var errStreamDone = errors.New("stream ended")

// follow reads the session's event stream, calling on for each event, until
// the server sends "end" (the session rests) or ctx ends. A stream that
// breaks off is reopened with Last-Event-ID, so no event is missed or seen
// twice.
func (c *operatorClient) follow(ctx context.Context, id string, on func(sseEvent)) error {
	var last int64
	failures := 0
	for {
		got, err := c.streamOnce(ctx, id, last, func(e sseEvent) {
			last = e.ID
			on(e)
		})
		switch {
		case errors.Is(err, errStreamDone):
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		}
		var ae *apiError
		if errors.As(err, &ae) && ae.status < 500 {
			return err // refused: reconnecting will not help
		}
		if got > 0 {
			failures = 0
		}
		if failures++; failures > streamReconnects {
			return fmt.Errorf("the event stream broke off %d times in a row: %w", failures-1, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(failures) * 500 * time.Millisecond):
		}
	}
}

// streamOnce opens the stream after event last and reads it to its end. It
// returns how many events it got and errStreamDone when the server said
// "end"; any other error (or none: the connection closed) means reconnect.
func (c *operatorClient) streamOnce(ctx context.Context, id string, last int64, on func(sseEvent)) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+c.prefix+"/wizard/sessions/"+id+"/events", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	req.Header.Set("Accept", "text/event-stream")
	if last > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(last, 10))
	}
	// No client timeout: the stream lasts as long as the work; ctx bounds it.
	res, err := (&http.Client{Transport: c.http.Transport}).Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		e := &apiError{status: res.StatusCode, body: map[string]any{}}
		if json.Unmarshal(body, &e.body) != nil {
			e.body["error"] = strings.TrimSpace(string(body))
		}
		return 0, e
	}
	return readEvents(res.Body, on)
}

// readEvents parses Server-Sent Events (id, event and data lines, a blank
// line ending each event).
func readEvents(r io.Reader, on func(sseEvent)) (int, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	var cur sseEvent
	var data string
	for sc.Scan() {
		line := sc.Text()
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch {
		case line == "":
			if cur.Kind == "end" {
				return n, errStreamDone
			}
			if cur.Kind != "" && cur.ID > 0 {
				var doc struct {
					Tool string         `json:"tool"`
					Data map[string]any `json:"data"`
				}
				if err := json.Unmarshal([]byte(data), &doc); err != nil {
					return n, fmt.Errorf("event %d is not the JSON expected: %w", cur.ID, err)
				}
				cur.Tool, cur.Data = doc.Tool, doc.Data
				on(cur)
				n++
			}
			cur, data = sseEvent{}, ""
		case field == "id":
			cur.ID, _ = strconv.ParseInt(value, 10, 64)
		case field == "event":
			cur.Kind = value
		case field == "data":
			data += value
		}
	}
	return n, sc.Err()
}
