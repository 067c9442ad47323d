package store

import (
	"context"
	"time"
)

// Customer is an account that pays for a plan; users, servers and keys
// belong to it. Tier names a plan; pkg/tier resolves it and refuses names it
// does not know, so set it through pkg/tier rather than directly.
type Customer struct {
	ID        string    `db:"id"`
	Name      string    `db:"name"`
	Tier      string    `db:"tier"`
	CreatedAt time.Time `db:"created_at"`
	UpdatedAt time.Time `db:"updated_at"`
}

const customerColumns = `id, name, tier, created_at, updated_at`

// CreateCustomer inserts c, setting its ID and times.
func (s *Store) CreateCustomer(ctx context.Context, c *Customer) error {
	c.ID = newID("cus")
	c.CreatedAt = s.now()
	c.UpdatedAt = c.CreatedAt
	_, err := exec(ctx, s.db, `INSERT INTO customers (`+customerColumns+`) VALUES (?, ?, ?, ?, ?)`,
		c.ID, c.Name, c.Tier, c.CreatedAt, c.UpdatedAt)
	return wrap(err, "create customer")
}

// Customer returns the customer with the given id.
func (s *Store) Customer(ctx context.Context, id string) (Customer, error) {
	var c Customer
	err := get(ctx, s.db, &c, `SELECT `+customerColumns+` FROM customers WHERE id = ?`, id)
	return c, wrap(err, "get customer %s", id)
}

// CustomerTier returns only the tier of a customer: what every limit check
// starts from.
func (s *Store) CustomerTier(ctx context.Context, id string) (string, error) {
	var tier string
	err := get(ctx, s.db, &tier, `SELECT tier FROM customers WHERE id = ?`, id)
	return tier, wrap(err, "get tier of customer %s", id)
}

// ListCustomers returns every customer, oldest first.
func (s *Store) ListCustomers(ctx context.Context) ([]Customer, error) {
	out := []Customer{}
	err := selectAll(ctx, s.db, &out, `SELECT `+customerColumns+` FROM customers ORDER BY created_at, id`)
	return out, wrap(err, "list customers")
}

// RenameCustomer changes a customer's display name.
func (s *Store) RenameCustomer(ctx context.Context, id, name string) error {
	err := execOne(ctx, s.db, `UPDATE customers SET name = ?, updated_at = ? WHERE id = ?`, name, s.now(), id)
	return wrap(err, "rename customer %s", id)
}

// SetCustomerTier moves a customer to another plan. Record it in the audit
// log (ActionTierChange). Nodes caching plans hear of it (AccessCustomer).
func (s *Store) SetCustomerTier(ctx context.Context, id, tier string) error {
	return s.changeAccess(ctx, AccessCustomer, id, func(tx *Store) error {
		err := execOne(ctx, tx.db, `UPDATE customers SET tier = ?, updated_at = ? WHERE id = ?`, tier, tx.now(), id)
		return wrap(err, "set tier of customer %s", id)
	})
}

// CountCustomersOnTier counts the customers on a plan, so an operator cannot
// delete a plan that is in use.
func (s *Store) CountCustomersOnTier(ctx context.Context, tier string) (int, error) {
	var n int
	err := get(ctx, s.db, &n, `SELECT COUNT(*) FROM customers WHERE tier = ?`, tier)
	return n, wrap(err, "count customers on tier %q", tier)
}

// DeleteCustomer deletes a customer with its users, servers, tools, keys and
// wizard sessions. Execution and audit records stay. Nodes caching keys
// and plans hear of it (AccessCustomer).
func (s *Store) DeleteCustomer(ctx context.Context, id string) error {
	return s.changeAccess(ctx, AccessCustomer, id, func(tx *Store) error {
		return wrap(execOne(ctx, tx.db, `DELETE FROM customers WHERE id = ?`, id), "delete customer %s", id)
	})
}
