package web_test

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/kilnhq/kiln/pkg/service/servicetest"
)

// TestConcurrentSetup: visitors who all opened the first-account form of
// a fresh instance submit it at once; exactly one account is created and
// signed in, and every other visitor is told, on the form, that the
// instance has an account now.
func TestConcurrentSetup(t *testing.T) {
	node := servicetest.Start(t, servicetest.Options{})
	const n = 6
	clients := make([]*client, n)
	forms := make([]url.Values, n)
	for i := range n {
		clients[i] = newClient(t, node.URL)
		forms[i] = account(clients[i].form("/setup"), fmt.Sprintf("Org %d", i), fmt.Sprintf("user%d", i), "correct horse battery")
	}
	type answer struct {
		status   int
		location string
		body     string
	}
	answers := make([]answer, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			resp, body := clients[i].post("/setup", forms[i])
			answers[i] = answer{resp.StatusCode, resp.Header.Get("Location"), body}
		})
	}
	start.Done()
	done.Wait()
	won := 0
	for i, a := range answers {
		switch {
		case a.status == 303 && a.location == "/servers":
			won++
		case a.status == 409 && strings.Contains(a.body, "already has an account") && strings.Contains(a.body, `role="alert"`):
		default:
			t.Errorf("visitor %d: %d to %q, want 303 to /servers or 409 saying the instance has an account", i, a.status, a.location)
		}
	}
	if won != 1 {
		t.Errorf("%d first accounts created, want 1", won)
	}
	custs, err := node.Service.Store.ListCustomers(t.Context())
	if err != nil || len(custs) != 1 {
		t.Errorf("customers after the race: %d, %v; want 1", len(custs), err)
	}
}
