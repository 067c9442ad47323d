package main

import (
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"time"
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
		{"create-key", "issue an API key for a customer (shown once)", adminCreateKey},
		{"keys", "list a customer's API keys", adminKeys},
		{"revoke-key", "revoke an API key", adminRevokeKey},
		{"create-client", "register an OAuth client (a confidential one's secret is shown once)", adminCreateClient},
		{"clients", "list OAuth clients", adminClients},
		{"delete-client", "delete an OAuth client and its tokens", adminDeleteClient},
		{"rotate-keys", "create a new OAuth token signing key; retire superseded ones", adminRotateKeys},
		{"signing-keys", "list the OAuth token signing keys", adminSigningKeys},
		{"audit", "read the audit log", adminAudit},
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

func adminCreateKey(env *environment, args []string) int {
	fs := newFlagSet(env, "admin create-key", "CUSTOMER [--name NAME] [--for-server SERVER] [--expires 720h]",
		"Issues an API key (kiln_...) for a customer and prints it. The key is shown\nthis once: only its hash is kept. Give it to the customer as\n\"Authorization: Bearer kiln_...\" for the /api/v1 endpoints.")
	name := fs.String("name", "", "a name to tell the key apart")
	forServer := fs.String("for-server", "", "limit the key to one of the customer's servers (its id)")
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
