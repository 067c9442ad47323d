package build

import (
	"container/list"
	"context"
	"sync"
)

// slots hands out a Pool's workers: at most workers builds run at once,
// and at most perCustomer of them for any one customer, so a customer who
// floods the pool (or whose builds hang) holds only its share and the
// others' builds still start. Waiting builds start in the order they asked,
// skipping those whose customer already runs its share.
type slots struct {
	mu          sync.Mutex
	free        int
	perCustomer int
	running     map[string]int // by customer
	line        *list.List     // of *ticket, oldest first
}

type ticket struct {
	customer string
	granted  chan struct{} // closed when the ticket holds a worker
}

func newSlots(workers, perCustomer int) *slots {
	return &slots{free: workers, perCustomer: perCustomer, running: map[string]int{}, line: list.New()}
}

// acquire waits for a worker for customer. On success the caller must
// release it; when ctx ends first it leaves the line and returns ctx's
// error.
func (s *slots) acquire(ctx context.Context, customer string) error {
	t := &ticket{customer: customer, granted: make(chan struct{})}
	s.mu.Lock()
	place := s.line.PushBack(t)
	s.grant()
	s.mu.Unlock()
	select {
	case <-t.granted:
	case <-ctx.Done():
	}
	err := ctx.Err() // a worker and the cancellation may arrive together
	if err == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-t.granted:
		s.put(customer)
	default:
		s.line.Remove(place)
	}
	return err
}

// release returns customer's worker and starts whoever may run next.
func (s *slots) release(customer string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.put(customer)
}

// waiting is how many builds wait for a worker.
func (s *slots) waiting() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.line.Len()
}

func (s *slots) put(customer string) {
	s.free++
	if s.running[customer]--; s.running[customer] == 0 {
		delete(s.running, customer)
	}
	s.grant()
}

// grant gives free workers to the oldest tickets whose customer is under
// its share. s.mu is held.
func (s *slots) grant() {
	for e := s.line.Front(); e != nil && s.free > 0; {
		next := e.Next()
		if t := e.Value.(*ticket); s.running[t.customer] < s.perCustomer {
			s.line.Remove(e)
			s.free--
			s.running[t.customer]++
			close(t.granted)
		}
		e = next
	}
}
