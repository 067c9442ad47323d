package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
)

// listAvailableLibrary lists the current (not deprecated) library module
// versions and whether the caller's plan may add each.
func (s *Server) listAvailableLibrary(c echo.Context) error {
	ctx := c.Request().Context()
	plan, err := s.catalog.ForCustomer(ctx, caller(c).CustomerID)
	if err != nil {
		return err
	}
	libs, err := s.store.ListLibraryModules(ctx, false)
	if err != nil {
		return err
	}
	out := list[availableLibraryView]{Items: make([]availableLibraryView, 0, len(libs))}
	for _, l := range libs {
		v, err := s.viewLibrary(ctx, l)
		if err != nil {
			return err
		}
		allowed, err := s.libraryAllowed(ctx, plan, l)
		if err != nil {
			return err
		}
		out.Items = append(out.Items, availableLibraryView{
			Name: v.Name, Version: v.Version, Description: v.Description, Tools: v.Tools, MinTier: v.MinTier, Available: allowed == nil,
		})
	}
	return c.JSON(http.StatusOK, out)
}

// libraryAllowed returns nil when plan may use l, or the 403 to answer.
func (s *Server) libraryAllowed(ctx context.Context, plan tier.Plan, l store.LibraryModule) (*Error, error) {
	err := s.catalog.CheckLibrary(ctx, plan, l.MinTier)
	var le *tier.LimitError
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &le):
		e := limitExceeded(le)
		e.Message = "library module " + l.Name + "@" + l.Version + " needs the " + l.MinTier + " plan or higher; this account is on the " + plan.Name + " plan"
		e.Fields["required_tier"] = l.MinTier
		return e, nil
	}
	return nil, err
}

// resolveLibrary finds the library module version a new tool asks for: the
// named version, or the newest one not deprecated.
func (s *Server) resolveLibrary(ctx context.Context, name, version string) (store.LibraryModule, error) {
	if err := checkLibraryRef(name, version); err != nil {
		return store.LibraryModule{}, err
	}
	if version != "" {
		l, err := s.store.LibraryModule(ctx, name, version)
		if errors.Is(err, store.ErrNotFound) {
			return l, notFound("there is no library module %s@%s", name, version)
		}
		if err == nil && l.Deprecated {
			return l, conflict("library module %s@%s is deprecated and cannot be added to servers; use a newer version", name, version)
		}
		return l, err
	}
	versions, err := s.store.ListLibraryVersions(ctx, name)
	if err != nil {
		return store.LibraryModule{}, err
	}
	for _, l := range versions {
		if !l.Deprecated {
			return l, nil
		}
	}
	if len(versions) > 0 {
		return store.LibraryModule{}, conflict("every version of library module %s is deprecated", name)
	}
	return store.LibraryModule{}, notFound("there is no library module %s", name)
}

// getDevLibrary answers the development library's progress (pkg/devlibrary
// writes it): what the library page shows while a development node builds
// the curated library. {"state": "none"} when no node has started that
// work, as in production.
func (s *Server) getDevLibrary(c echo.Context) error {
	d, err := s.store.DevLibrary(c.Request().Context())
	if errors.Is(err, store.ErrNotFound) {
		return c.JSON(http.StatusOK, map[string]string{"state": "none"})
	}
	if err != nil {
		return err
	}
	return c.JSONBlob(http.StatusOK, d.Status)
}
