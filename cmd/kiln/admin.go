package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kilnhq/kiln/pkg/tier"
)

const adminDescription = `Calls the operator API of a running Kiln service (--server, KILN_SERVER_URL;
default ` + defaultServerURL + `) with the operator token from KILN_OPERATOR_TOKEN
or, for a development service, from <data-dir>/operator.token. Answers are
printed as JSON.`

func runAdmin(env *environment, args []string) int {
	return runGroup(env, "admin", adminDescription, []subcommand{
		{"create-customer", "create a customer on a plan", adminCreateCustomer},
		{"customers", "list customers", adminCustomers},
		{"set-tier", "move a customer to another plan", adminSetTier},
		{"set-operator", "make a user an operator account (or, with --undo, an ordinary user)", adminSetOperator},
		{"plans", "list the plans and their limits", adminPlans},
		{"set-plan", "create or change a plan (or override a built-in one)", adminSetPlan},
		{"remove-plan", "remove a plan, or the override of a built-in one", adminRemovePlan},
		{"create-key", "issue an API key for a customer (shown once)", adminCreateKey},
		{"keys", "list a customer's API keys", adminKeys},
		{"revoke-key", "revoke an API key", adminRevokeKey},
		{"create-client", "register an OAuth client (a confidential one's secret is shown once)", adminCreateClient},
		{"clients", "list OAuth clients", adminClients},
		{"delete-client", "delete an OAuth client and its tokens", adminDeleteClient},
		{"rotate-keys", "create a new OAuth token signing key; retire superseded ones", adminRotateKeys},
		{"signing-keys", "list the OAuth token signing keys", adminSigningKeys},
		{"audit", "read the audit log", adminAudit},
		{"llm-usage", "the wizard's LLM calls and tokens per customer, day, provider and model", adminLLMUsage},
	}, args)
}

// operatorCommand is the shape of every command that calls the operator
// API: parse flags with the client flags, take exactly nargs arguments,
// call, print the answer.
func operatorCommand(env *environment, fs *flag.FlagSet, cf *clientFlags, args []string, nargs int,
	call func(c *operatorClient, pos []string) ([]byte, error)) int {
	cf.register(fs, env.getenv)
	pos, status, ok := parseExact(env, fs, args, nargs)
	if !ok {
		return status
	}
	c, err := cf.client(env)
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln %s: %v\n", fs.Name(), err)
		return exitUsage
	}
	out, err := call(c, pos)
	if err != nil {
		fmt.Fprintf(env.stderr, "kiln %s: %v\n", fs.Name(), err)
		return exitFailed
	}
	if err := printJSON(env, out); err != nil {
		fmt.Fprintf(env.stderr, "kiln %s: %v\n", fs.Name(), err)
		return exitFailed
	}
	return exitOK
}

func adminLLMUsage(env *environment, args []string) int {
	fs := newFlagSet(env, "admin llm-usage", "[--customer ID] [--since 2026-01-31]",
		"Prints the wizard's LLM use: calls, failed calls and tokens per customer, UTC day,\nprovider and model, with the total (default: the last 30 days, every customer).")
	customer := fs.String("customer", "", "only this customer")
	since := fs.String("since", "", "from this date (YYYY-MM-DD) or RFC 3339 time")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 0, func(c *operatorClient, _ []string) ([]byte, error) {
		q := url.Values{}
		if *customer != "" {
			q.Set("customer", *customer)
		}
		if *since != "" {
			q.Set("since", *since)
		}
		return c.callJSON("GET", "/llm-usage?"+q.Encode(), nil)
	})
}

func adminCreateCustomer(env *environment, args []string) int {
	fs := newFlagSet(env, "admin create-customer", "--name NAME --tier PLAN",
		"Creates a customer on a plan (free, pro, enterprise or an operator's own) and\nprints it. Issue it an API key with kiln admin create-key.")
	name := fs.String("name", "", "the customer's display name (required)")
	plan := fs.String("tier", "", "the customer's plan (required)")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 0, func(c *operatorClient, _ []string) ([]byte, error) {
		return c.callJSON("POST", "/customers", map[string]string{"name": *name, "tier": *plan})
	})
}

func adminCustomers(env *environment, args []string) int {
	fs := newFlagSet(env, "admin customers", "[flags]", "Lists every customer, oldest first.")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 0, func(c *operatorClient, _ []string) ([]byte, error) {
		return c.callJSON("GET", "/customers", nil)
	})
}

func adminSetTier(env *environment, args []string) int {
	fs := newFlagSet(env, "admin set-tier", "CUSTOMER PLAN",
		"Moves a customer to another plan. Its limits apply to the next request; the\nchange is recorded in the audit log.")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 2, func(c *operatorClient, pos []string) ([]byte, error) {
		return c.callJSON("PUT", "/customers/"+url.PathEscape(pos[0])+"/tier", map[string]string{"tier": pos[1]})
	})
}

func adminSetOperator(env *environment, args []string) int {
	fs := newFlagSet(env, "admin set-operator", "USER [--undo]",
		"Makes a user (its id, or an email address that names one user) an operator\naccount: signed in, it uses the /operator pages and the operator API, and the\naudit log names it. --undo makes it an ordinary user again. Audited.")
	undo := fs.Bool("undo", false, "make an operator account an ordinary user again")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 1, func(c *operatorClient, pos []string) ([]byte, error) {
		method := "PUT"
		if *undo {
			method = "DELETE"
		}
		return c.callJSON(method, "/operators/"+url.PathEscape(pos[0]), nil)
	})
}

func adminCreateKey(env *environment, args []string) int {
	fs := newFlagSet(env, "admin create-key", "CUSTOMER [--name NAME] [--for-server SERVER] [--expires 720h]",
		"Issues an API key (kiln_...) for a customer and prints it. The key is shown\nthis once: only its hash is kept. Give it to the customer as\n\"Authorization: Bearer kiln_...\" for the /api/v1 endpoints, where it acts as an\nowner; with --for-server, for that server's MCP endpoint only.")
	name := fs.String("name", "", "a name to tell the key apart")
	forServer := fs.String("for-server", "", "make a key for one of the customer's servers (its id): its MCP endpoint only, refused by the user API")
	expires := fs.Duration("expires", 0, "the key expires after this long (default: never)")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 1, func(c *operatorClient, pos []string) ([]byte, error) {
		body := map[string]any{"name": *name}
		if *forServer != "" {
			body["server_id"] = *forServer
		}
		if *expires > 0 {
			body["expires_at"] = time.Now().Add(*expires).UTC()
		}
		out, err := c.callJSON("POST", "/customers/"+url.PathEscape(pos[0])+"/keys", body)
		if err == nil {
			fmt.Fprintln(env.stderr, "kiln admin create-key: the key is shown this once; store it now")
		}
		return out, err
	})
}

func adminKeys(env *environment, args []string) int {
	fs := newFlagSet(env, "admin keys", "CUSTOMER", "Lists a customer's API keys, revoked ones included (never the keys themselves).")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 1, func(c *operatorClient, pos []string) ([]byte, error) {
		return c.callJSON("GET", "/customers/"+url.PathEscape(pos[0])+"/keys", nil)
	})
}

func adminRevokeKey(env *environment, args []string) int {
	fs := newFlagSet(env, "admin revoke-key", "CUSTOMER KEY_ID", "Revokes one of a customer's API keys (by its id, key_...). It stops working at once.")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 2, func(c *operatorClient, pos []string) ([]byte, error) {
		_, err := c.callJSON("DELETE", "/customers/"+url.PathEscape(pos[0])+"/keys/"+url.PathEscape(pos[1]), nil)
		if err == nil {
			fmt.Fprintf(env.stderr, "kiln admin revoke-key: revoked %s\n", pos[1])
		}
		return nil, err
	})
}

func adminCreateClient(env *environment, args []string) int {
	fs := newFlagSet(env, "admin create-client", "--name NAME --redirect-uri URI [--redirect-uri URI2 ...] [--confidential]",
		"Registers an OAuth client of Kiln's authorization server and prints it. Redirect\nURIs must be https, or http on a loopback address (any port). A public client\nauthenticates with PKCE alone; a --confidential one also with the client_secret\nprinted here, shown this once (only its hash is kept), by HTTP Basic or in\nthe form. Give the client its client_id (and secret).")
	name := fs.String("name", "", "the client's name, shown to users on the consent page (required)")
	var redirects listFlag
	fs.Var(&redirects, "redirect-uri", "a redirect URI of the client (required; repeat for more, up to 10)")
	confidential := fs.Bool("confidential", false, "issue a client secret, for a client that can keep one (such as a web server)")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 0, func(c *operatorClient, _ []string) ([]byte, error) {
		uris := []string(redirects)
		if uris == nil {
			uris = []string{}
		}
		out, err := c.callJSON("POST", "/oauth-clients", map[string]any{"name": *name, "redirect_uris": uris, "confidential": *confidential})
		if err == nil && *confidential {
			fmt.Fprintln(env.stderr, "kiln admin create-client: the client secret is shown this once; store it now")
		}
		return out, err
	})
}

func adminClients(env *environment, args []string) int {
	fs := newFlagSet(env, "admin clients", "[--registration operator|dynamic|metadata|all] [--limit N]",
		"Lists OAuth clients, newest first (never their secrets): by default those an\noperator registered; --registration picks those registered by the client\nitself (dynamic), named by a metadata document (metadata), or all.")
	registration := fs.String("registration", "operator", "which clients: operator, dynamic, metadata or all")
	limit := fs.Int("limit", 100, "at most this many clients (up to 500)")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 0, func(c *operatorClient, _ []string) ([]byte, error) {
		q := url.Values{"registration": {*registration}, "limit": {strconv.Itoa(*limit)}}
		return c.callJSON("GET", "/oauth-clients?"+q.Encode(), nil)
	})
}

func adminDeleteClient(env *environment, args []string) int {
	fs := newFlagSet(env, "admin delete-client", "CLIENT_ID",
		"Deletes an OAuth client (by its id, cli_...), whoever registered it. Its access\nand refresh tokens stop working at once.")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 1, func(c *operatorClient, pos []string) ([]byte, error) {
		_, err := c.callJSON("DELETE", "/oauth-clients/"+url.PathEscape(pos[0]), nil)
		if err == nil {
			fmt.Fprintf(env.stderr, "kiln admin delete-client: deleted %s\n", pos[0])
		}
		return nil, err
	})
}

func adminRotateKeys(env *environment, args []string) int {
	fs := newFlagSet(env, "admin rotate-keys", "",
		"Creates a new OAuth token signing key, sealed with the master key, and retires\nkeys superseded long enough ago that no token they signed is still valid. Every\nnode signs with the new key within a minute and keeps accepting tokens of the\nprevious one until they expire. kiln serve also rotates on its own every 30 days.")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 0, func(c *operatorClient, _ []string) ([]byte, error) {
		return c.callJSON("POST", "/oauth-signing-keys", nil)
	})
}

func adminSigningKeys(env *environment, args []string) int {
	fs := newFlagSet(env, "admin signing-keys", "",
		"Lists the OAuth token signing keys published in the JWKS, the current one first.")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 0, func(c *operatorClient, _ []string) ([]byte, error) {
		return c.callJSON("GET", "/oauth-signing-keys", nil)
	})
}

func adminAudit(env *environment, args []string) int {
	fs := newFlagSet(env, "admin audit", "[--customer ID] [--actor ACTOR] [--action ACTION] [--limit N] [--before ID]",
		"Prints the audit log, newest first: who changed what, when. Page backwards with\n--before set to the next_before of the previous answer.")
	customer := fs.String("customer", "", "only this customer's entries")
	actor := fs.String("actor", "", "only this actor's entries (operator, key:ID, ...)")
	action := fs.String("action", "", "only entries of this action (customer.tier, library.upload, apikey.create, ...)")
	limit := fs.Int("limit", 50, "at most this many entries (up to 500)")
	before := fs.Int64("before", 0, "only entries with an id below this")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 0, func(c *operatorClient, _ []string) ([]byte, error) {
		q := url.Values{}
		for k, v := range map[string]string{"customer": *customer, "actor": *actor, "action": *action} {
			if v != "" {
				q.Set(k, v)
			}
		}
		q.Set("limit", strconv.Itoa(*limit))
		if *before > 0 {
			q.Set("before", strconv.FormatInt(*before, 10))
		}
		return c.callJSON("GET", "/audit?"+q.Encode(), nil)
	})
}

// planLimits are set-plan's flags: one per limit, named as the API's fields
// with dashes. bytes says the flag also takes sizes such as 128MiB.
var planLimits = []struct {
	field, usage string
	bytes        bool
}{
	{"rank", "order for library modules: a module whose minimum tier is plan M is open to plans of M's rank or higher", false},
	{"servers_per_customer", "servers one customer may have", false},
	{"tools_per_server", "tools one server may have", false},
	{"fuel", "fuel units per call (about one per WebAssembly instruction)", false},
	{"memory_bytes", "linear memory per call, such as 128MiB (64KiB to 4GiB)", true},
	{"timeout_ms", "wall-clock milliseconds per call (at most 900000, 15 minutes)", false},
	{"output_bytes", "size of a call's result, such as 1MiB (at most 64MiB)", true},
	{"http_requests_per_call", "outbound HTTP requests per call; 0: none", false},
	{"calls_per_minute", "tool calls per customer per minute", false},
	{"llm_generations_per_day", "wizard generations per customer per day; 0 disables the wizard", false},
}

// limitFlag is the value of one of planLimits' flags.
type limitFlag struct {
	bytes bool
	v     int64
}

func (l *limitFlag) String() string { return strconv.FormatInt(l.v, 10) }

func (l *limitFlag) Set(s string) error {
	if l.bytes {
		var b byteSize
		if err := b.Set(s); err != nil {
			return err
		}
		if b > math.MaxInt64 {
			return fmt.Errorf("%q is too large", s)
		}
		l.v = int64(b)
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not a whole number", s)
	}
	l.v = n
	return nil
}

func adminPlans(env *environment, args []string) int {
	fs := newFlagSet(env, "admin plans", "",
		"Lists every plan by rank, with every limit and its source: default (a built-in\nplan as compiled in), override (a built-in plan an operator changed) or\noperator (a plan an operator added).")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 0, func(c *operatorClient, _ []string) ([]byte, error) {
		return c.callJSON("GET", "/plans", nil)
	})
}

func adminSetPlan(env *environment, args []string) int {
	fs := newFlagSet(env, "admin set-plan", "NAME [--from PLAN] [--fuel N] [--timeout-ms N] [--memory-bytes 128MiB] ...",
		"Creates or changes a plan and prints it. The limits not given as flags are\nNAME's current ones, or with --from those of another plan; a new plan without\n--from needs every limit. On free, pro or enterprise it stores an override of\nthe built-in limits (kiln admin remove-plan brings them back). Customers on the\nplan get the new limits with their next request; servers and tools they\nalready have above a lowered count are kept. The change is audited.")
	from := fs.String("from", "", "start from this plan's limits rather than NAME's current ones")
	flags := map[string]*limitFlag{}
	for _, l := range planLimits {
		f := &limitFlag{bytes: l.bytes}
		flags[strings.ReplaceAll(l.field, "_", "-")] = f
		fs.Var(f, strings.ReplaceAll(l.field, "_", "-"), l.usage)
	}
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 1, func(c *operatorClient, pos []string) ([]byte, error) {
		name, base := pos[0], *from
		if base == "" {
			base = pos[0]
		}
		body, err := planLimitsOf(c, base, base == name)
		if err != nil {
			return nil, err
		}
		fs.Visit(func(f *flag.Flag) {
			if l, ok := flags[f.Name]; ok {
				body[strings.ReplaceAll(f.Name, "-", "_")] = l.v
			}
		})
		return c.callJSON("PUT", "/plans/"+url.PathEscape(name), body)
	})
}

// planLimitsOf reads the limits of the plan called name as a PUT body; a
// plan that does not exist has none when missingOK.
func planLimitsOf(c *operatorClient, name string, missingOK bool) (map[string]any, error) {
	data, err := c.callJSON("GET", "/plans/"+url.PathEscape(name), nil)
	if apiErr, ok := errors.AsType[*apiError](err); ok && apiErr.status == http.StatusNotFound && missingOK {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, err
	}
	body := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber() // fuel may not fit a float64
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("the server's plan %q is not JSON: %w", name, err)
	}
	// The limits only: the name is the path's, the source the server's.
	delete(body, "name")
	delete(body, "source")
	return body, nil
}

func adminRemovePlan(env *environment, args []string) int {
	fs := newFlagSet(env, "admin remove-plan", "NAME",
		"Removes an operator's plan, refused while customers are on it (move them with\nkiln admin set-tier), or the override of a built-in plan (free, pro,\nenterprise), whose default limits then apply again to its customers. The\nchange is audited.")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 1, func(c *operatorClient, pos []string) ([]byte, error) {
		_, err := c.callJSON("DELETE", "/plans/"+url.PathEscape(pos[0]), nil)
		if err != nil {
			return nil, err
		}
		if _, builtIn := tier.Default(pos[0]); builtIn {
			fmt.Fprintf(env.stderr, "kiln admin remove-plan: removed the override of %s; its built-in limits apply again\n", pos[0])
		} else {
			fmt.Fprintf(env.stderr, "kiln admin remove-plan: removed %s\n", pos[0])
		}
		return nil, nil
	})
}
