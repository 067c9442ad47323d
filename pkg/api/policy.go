package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/store"
)

// role ranks what a principal of the user API may do. The policy is the
// route table (routes.go): every user route names the least role it needs,
// and authorize, the one place that decides, admits or refuses before the
// handler runs. Handlers do no authorization of their own beyond scoping
// reads to the caller's customer.
//
// The policy:
//   - A key scoped to one server (kiln admin create-key --for-server) is
//     for that server's MCP endpoint only: every user API request is 403.
//   - members read the account, the library, servers, tools and env var
//     declarations; create servers; add and remove tools (the wizard's
//     work).
//   - owners also change and delete servers (their egress hosts, payload
//     recording, name), declare env vars and set or remove their values
//     (secrets), and read the execution log (it holds callers' arguments
//     when recording is on).
//   - An account key (not scoped to a server) acts as an owner: the
//     operator issues it for the whole account.
//
// A new server starts as a member describes it: it has no callers, secrets
// or recorded payloads yet, and members cannot read its execution log.
// Every refusal is recorded in the audit log.
type role int

const (
	// roleNone is a role the policy does not know: it may do nothing.
	roleNone role = iota
	roleMember
	roleOwner
)

func parseRole(name string) role {
	switch name {
	case store.RoleOwner:
		return roleOwner
	case store.RoleMember:
		return roleMember
	}
	return roleNone
}

func (r role) String() string {
	switch r {
	case roleOwner:
		return store.RoleOwner
	case roleMember:
		return store.RoleMember
	}
	return "none"
}

// actionAccessRefuse is the audit action of a request the policy refused.
const actionAccessRefuse = "access.refuse"

// authorize admits requests whose principal has at least role need, and
// refuses (403) and audits the others.
func (s *Server) authorize(need role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			p := caller(c)
			refusal, details := p.refusal(need)
			if refusal == nil {
				return next(c)
			}
			details["route"] = c.Request().Method + " " + c.Path()
			if names := c.ParamNames(); len(names) > 0 {
				params := map[string]string{}
				for i, name := range names {
					params[name] = c.ParamValues()[i]
				}
				details["params"] = params
			}
			s.auditAlone(c, p.CustomerID, actionAccessRefuse, c.Request().Method+" "+c.Request().URL.Path, details)
			return refusal
		}
	}
}

// refusal says why p may not make a request needing role need, with the
// audit details of the refusal; nil when it may.
func (p principal) refusal(need role) (*Error, map[string]any) {
	if p.ServerID != nil {
		return errorf(http.StatusForbidden,
				"this API key is scoped to MCP use: it works only at the MCP endpoint /mcp/%s, not on the user API; use an account key or a signed-in session",
				*p.ServerID),
			map[string]any{"reason": "scoped_key", "key_server_id": *p.ServerID}
	}
	if p.role >= need {
		return nil, nil
	}
	e := errorf(http.StatusForbidden, "this request needs the %s role; this user has the %s role", need, p.role)
	e.Fields = map[string]any{"required_role": need.String()}
	return e, map[string]any{"reason": "role", "role": p.role.String(), "required_role": need.String()}
}
