package mcphost

import (
	"context"
	"errors"
)

// Deploy (re)loads a server from the database, compiling its modules ahead
// of the first call, serves it from the next request on, and tells the
// other nodes. ErrServerNotFound if it does not exist; a *DeployError if
// some of its tools cannot be served (the others are).
func (h *Host) Deploy(ctx context.Context, serverID string) error {
	_, err := h.sync(ctx, serverID, true)
	var partial *DeployError
	if err != nil && !errors.As(err, &partial) {
		return err
	}
	// Served here, if only in part: the other nodes must follow.
	return errors.Join(err, h.notify(ctx, serverID))
}

// Remove stops serving a server on every node, at once. Call it after the
// server was deleted; a server still in the database would be loaded again
// by the next request or resync.
func (h *Host) Remove(ctx context.Context, serverID string) error {
	unlock := h.locks.lock(serverID)
	removed := h.reg.remove(serverID)
	unlock()
	if removed {
		h.log.InfoContext(ctx, "server removed", "server", serverID)
	}
	return h.notify(ctx, serverID)
}

// Reload makes this node and the others serve what the database now holds
// for a server: the new version of its tools, env vars and hosts, or
// nothing if it was deleted. It is what the API calls after any change.
func (h *Host) Reload(ctx context.Context, serverID string) error {
	_, err := h.sync(ctx, serverID, false)
	if err != nil && !errors.Is(err, ErrServerNotFound) {
		// Tell the other nodes anyway: what failed here (a module that
		// does not load) fails the same way there, and they must not keep
		// serving the old version meanwhile.
		return errors.Join(err, h.notify(ctx, serverID))
	}
	return h.notify(ctx, serverID)
}

// sync brings one server in line with the database on this node only and
// returns its deployment (nil if it is gone). Loads of one server are
// serialized, so they apply in the order they read the database. With
// force, the server is rebuilt even if nothing it depends on changed.
// Without force, a missing server is removed and not an error.
func (h *Host) sync(ctx context.Context, serverID string, force bool) (*deployment, error) {
	unlock := h.locks.lock(serverID)
	defer unlock()
	st, err := h.readState(ctx, serverID)
	if errors.Is(err, ErrServerNotFound) {
		if h.reg.remove(serverID) {
			h.log.InfoContext(ctx, "server removed", "server", serverID)
		}
		if force {
			return nil, err
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	cur := h.reg.get(serverID)
	if !force && cur != nil && cur.fingerprint == st.fingerprint() {
		return cur, nil
	}
	d, err := h.build(ctx, st)
	var partial *DeployError
	if err != nil && !errors.As(err, &partial) {
		return nil, err
	}
	h.reg.put(d)
	h.log.InfoContext(ctx, "server deployed", "server", serverID, "tools", len(d.tools), "version", d.srv.Version)
	if partial != nil {
		h.log.ErrorContext(ctx, "some tools cannot be served", "server", serverID, "error", partial)
		return d, partial
	}
	return d, nil
}

// ensure returns a server's deployment, loading it if this node has not yet
// (a request that arrives before the startup load or a notification got to
// it). nil if the server does not exist.
func (h *Host) ensure(ctx context.Context, serverID string) (*deployment, error) {
	if d := h.reg.get(serverID); d != nil {
		return d, nil
	}
	d, err := h.sync(ctx, serverID, false)
	var partial *DeployError
	if errors.As(err, &partial) {
		return d, nil // logged by sync; serve the tools that work
	}
	return d, err
}
