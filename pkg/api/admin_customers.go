package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
)

type createCustomerRequest struct {
	Name string `json:"name"`
	Tier string `json:"tier"`
}

func (s *Server) createCustomer(c echo.Context) error {
	var req createCustomerRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if err := checkText("name", req.Name, maxTextName, true); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if err := s.checkPlan(c, "tier", req.Tier); err != nil {
		return err
	}
	cust := store.Customer{Name: req.Name, Tier: req.Tier}
	err := s.inTx(c, func(tx *store.Store) error {
		if err := tx.CreateCustomer(ctx, &cust); err != nil {
			return err
		}
		return s.audit(c, tx, cust.ID, actionCustomerCreate, cust.ID, map[string]any{"name": cust.Name, "tier": cust.Tier})
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, viewCustomer(cust))
}

// checkPlan refuses a tier name no plan has: a customer's tier is never
// guessed.
func (s *Server) checkPlan(c echo.Context, field, name string) error {
	if name == "" {
		return badRequest("%s must name a plan, such as %q", field, tier.Free)
	}
	// No other name can exist: spare the database the lookup.
	if !tier.ValidName(name) {
		return unprocessable("%s: there is no plan called %q", field, name)
	}
	_, err := s.catalog.Plan(c.Request().Context(), name)
	if errors.Is(err, tier.ErrUnknownPlan) {
		return unprocessable("%s: there is no plan called %q", field, name)
	}
	return err
}

func (s *Server) listCustomers(c echo.Context) error {
	all, err := s.store.ListCustomers(c.Request().Context())
	if err != nil {
		return err
	}
	out := list[customerView]{Items: make([]customerView, 0, len(all))}
	for _, cust := range all {
		out.Items = append(out.Items, viewCustomer(cust))
	}
	return c.JSON(http.StatusOK, out)
}

// customer reads the :customer of the path.
func (s *Server) customer(c echo.Context) (store.Customer, error) {
	id := c.Param("customer")
	cust, err := s.store.Customer(c.Request().Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Customer{}, notFound("there is no customer %s", id)
	}
	return cust, err
}

func (s *Server) getCustomer(c echo.Context) error {
	cust, err := s.customer(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewCustomer(cust))
}

type setTierRequest struct {
	Tier string `json:"tier"`
}

func (s *Server) setCustomerTier(c echo.Context) error {
	var req setTierRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	cust, err := s.customer(c)
	if err != nil {
		return err
	}
	if err := s.checkPlan(c, "tier", req.Tier); err != nil {
		return err
	}
	ctx := c.Request().Context()
	err = s.inTx(c, func(tx *store.Store) error {
		// A catalog on tx: s.catalog would read outside the transaction.
		if err := tier.NewCatalog(tx).SetCustomerTier(ctx, cust.ID, req.Tier); err != nil {
			return err
		}
		return s.audit(c, tx, cust.ID, store.ActionTierChange, cust.ID, map[string]any{"from": cust.Tier, "to": req.Tier})
	})
	if err != nil {
		if errors.Is(err, tier.ErrUnknownPlan) {
			return unprocessable("there is no plan called %q", req.Tier)
		}
		return err
	}
	updated, err := s.store.Customer(ctx, cust.ID)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, viewCustomer(updated))
}
