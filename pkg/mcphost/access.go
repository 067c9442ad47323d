package mcphost

import (
	"context"
	"fmt"
	"time"

	"github.com/kilnhq/kiln/pkg/internal/rowcache"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
)

// What a call needs to know about its caller, cached. Looking up the API
// key and the customer's plan cost two to three queries per call (about
// 0.2 ms on SQLite, 0.85 ms on PostgreSQL here), more than the tool itself.
// Both are kept in bounded LRUs (apikey.Cache for keys, planCache for
// plans) and dropped when the store announces a change (store.AccessTopic:
// a key revoked or deleted, a customer moved to another plan or deleted, a
// plan changed or deleted, a server deleted). Every node listens, this one
// included, so a change made through any node applies on all of them as
// soon as the notification arrives. A listener that reconnected may have
// missed some, so both caches are emptied then. Entries also expire after
// Config.ResyncInterval, the same bound as for deploys: a change made
// behind the store's back (SQL by hand) is seen within it.

// planCache keeps each customer's resolved plan.
type planCache struct {
	catalog *tier.Catalog
	plans   *rowcache.Cache[tier.Plan] // by customer ID
}

func newPlanCache(catalog *tier.Catalog, size int, ttl time.Duration) (*planCache, error) {
	plans, err := rowcache.New[tier.Plan](size, ttl)
	if err != nil {
		return nil, fmt.Errorf("mcphost: plan cache: %w", err)
	}
	return &planCache{catalog: catalog, plans: plans}, nil
}

// forCustomer is tier.Catalog.ForCustomer, cached. Errors are not cached.
func (c *planCache) forCustomer(ctx context.Context, customerID string) (tier.Plan, error) {
	return c.plans.Get(ctx, customerID, func(ctx context.Context) (tier.Plan, error) {
		return c.catalog.ForCustomer(ctx, customerID)
	})
}

// forget drops the plans a change may affect: the customer's, or those of
// every customer on the changed plan.
func (c *planCache) forget(ch store.AccessChange) {
	c.plans.Forget(func(customerID string, p tier.Plan) bool {
		switch ch.Kind {
		case store.AccessCustomer:
			return customerID == ch.ID
		case store.AccessPlan:
			return p.Name == ch.ID
		}
		return false
	})
}

func (c *planCache) purge() { c.plans.Purge() }

// listenAccess starts listening to access changes. Whatever the caches
// took before listening began may predate a change nobody will announce
// again, so they are emptied once it has.
func (h *Host) listenAccess(ctx context.Context) (<-chan store.Notification, error) {
	notes, err := h.store.Listen(ctx, store.AccessTopic, func(err error) {
		h.log.WarnContext(ctx, "access change notifications", "error", err)
	})
	if err != nil {
		return nil, fmt.Errorf("mcphost: listening for access changes: %w", err)
	}
	h.purgeAccess()
	return notes, nil
}

// followAccess applies access changes to the caches until notes closes.
func (h *Host) followAccess(notes <-chan store.Notification) {
	for n := range notes {
		ch, ok := store.ParseAccessChange(n.Payload)
		if n.Reconnected || !ok {
			if !n.Reconnected {
				h.log.Warn("unknown access change; emptying the caches", "payload", n.Payload)
			}
			h.purgeAccess()
			continue
		}
		h.keys.Forget(ch)
		h.plans.forget(ch)
	}
}

func (h *Host) purgeAccess() {
	h.keys.Purge()
	h.plans.purge()
}
