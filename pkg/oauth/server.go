package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/websession"
)

// legacyServer is op's LegacyServer with Kiln's rules at /authorize and for
// the code exchange.
type legacyServer struct {
	*op.LegacyServer
	s *Server
}

func invalidTarget(desc string) *oidc.Error {
	return oidc.ErrInvalidTarget().WithDescription("%s", desc)
}

// VerifyAuthRequest gives MCP clients default scopes: op refuses a request
// without scopes, and mints refresh tokens only with offline_access. A
// metadata document fetch refused by a rate limit is answered 429 (or 503),
// where op would say 400.
func (l *legacyServer) VerifyAuthRequest(ctx context.Context, r *op.Request[oidc.AuthRequest]) (*op.ClientRequest[oidc.AuthRequest], error) {
	if len(r.Data.Scopes) == 0 {
		r.Data.Scopes = oidc.SpaceDelimitedArray{scopeMCP}
	}
	if !slices.Contains(r.Data.Scopes, oidc.ScopeOfflineAccess) {
		r.Data.Scopes = append(r.Data.Scopes, oidc.ScopeOfflineAccess)
	}
	cr, err := l.LegacyServer.VerifyAuthRequest(ctx, r)
	if refused, ok := errors.AsType[*cimdRefusal](err); ok {
		return nil, op.NewStatusError(err, refused.Status)
	}
	return cr, err
}

// Authorize runs once op has checked the client, redirect URI, scopes and
// response type. It requires PKCE S256 and a resource naming an existing
// Kiln MCP server, and stores the request with its resource.
func (l *legacyServer) Authorize(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest]) (*op.Redirect, error) {
	if r.Data.RequestParam != "" {
		return nil, oidc.ErrRequestNotSupported()
	}
	// The code and iss go in the query; other modes would put the code
	// where iss is not.
	if m := r.Data.ResponseMode; m != "" && m != oidc.ResponseModeQuery {
		return nil, oidc.ErrInvalidRequest().WithDescription("response_mode must be query")
	}
	if r.Data.CodeChallenge == "" {
		return nil, oidc.ErrInvalidRequest().WithDescription("PKCE is required: send code_challenge with code_challenge_method=S256")
	}
	if r.Data.CodeChallengeMethod != oidc.CodeChallengeMethodS256 {
		return nil, oidc.ErrInvalidRequest().WithDescription("code_challenge_method must be S256")
	}
	resources := r.Form["resource"]
	if len(resources) != 1 {
		return nil, invalidTarget("exactly one resource parameter (RFC 8707) naming the Kiln MCP server is required")
	}
	resource := resources[0]
	id, ok := l.s.resourceServerID(resource)
	if !ok {
		return nil, invalidTarget("the resource is not an MCP server of this Kiln")
	}
	if _, err := l.s.store.ServerByID(ctx, id); errors.Is(err, store.ErrNotFound) {
		return nil, invalidTarget("the resource names no existing MCP server")
	} else if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if slices.Contains(r.Data.Prompt, oidc.PromptNone) {
		return l.authorizeSilently(ctx, r, id, resource)
	}
	req, err := (&storage{s: l.s}).createAuthRequest(ctx, r.Data, resource)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return op.NewRedirect(r.Client.LoginURL(req.GetID())), nil
}

// authorizeSilently answers prompt=none: with no page to show, the browser
// must already be signed in, as a user of the server's customer, who
// granted this client this resource before (holds a live refresh token).
func (l *legacyServer) authorizeSilently(ctx context.Context, r *op.ClientRequest[oidc.AuthRequest], serverID, resource string) (*op.Redirect, error) {
	hr := (&http.Request{Header: r.Header}).WithContext(ctx)
	sess, user, err := l.s.sessions.Lookup(hr)
	if errors.Is(err, websession.ErrNoSession) {
		return nil, oidc.ErrLoginRequired()
	} else if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if m := r.Data.MaxAge; m != nil && l.s.now().Sub(sess.CreatedAt) > time.Duration(*m)*time.Second {
		return nil, oidc.ErrLoginRequired().WithDescription("the sign-in is older than max_age")
	}
	// id_token_hint names the user the client expects; another signed-in
	// user must not get a code in their place.
	if hint := r.Data.IDTokenHint; hint != "" {
		sub, err := op.ValidateAuthReqIDTokenHint(ctx, hint, l.s.provider.IDTokenHintVerifier(ctx))
		if err != nil || sub != user.ID {
			return nil, oidc.ErrLoginRequired().WithDescription("the signed-in user is not the one id_token_hint names")
		}
	}
	if _, err := l.s.store.Server(ctx, user.CustomerID, serverID); errors.Is(err, store.ErrNotFound) {
		return nil, oidc.ErrAccessDenied().WithDescription("the signed-in user cannot grant access to this MCP server")
	} else if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	granted, err := l.s.store.HasActiveGrant(ctx, r.Client.GetID(), user.ID, resource)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	if !granted {
		// OpenID Connect Core 3.1.2.6; op has no constructor for it.
		return nil, &oidc.Error{ErrorType: "consent_required", Description: "the user has not granted this client access to this MCP server"}
	}
	req, err := (&storage{s: l.s}).createAuthRequest(ctx, r.Data, resource)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	callback, err := l.s.completeAuthRequest(ctx, req.GetID(), user.ID, sess.CreatedAt)
	if err != nil {
		return nil, oidc.ErrServerError().WithParent(err)
	}
	return op.NewRedirect(callback), nil
}

// CodeExchange always checks the PKCE verifier (op skips it for a client
// with a secret and no verifier) and a resource, when sent, against the
// grant's.
func (l *legacyServer) CodeExchange(ctx context.Context, r *op.ClientRequest[oidc.AccessTokenRequest]) (*op.Response, error) {
	authReq, err := op.AuthRequestByCode(ctx, l.s.provider.Storage(), r.Data.Code)
	if err != nil {
		return nil, err
	}
	if err := op.AuthorizeCodeChallenge(r.Data.CodeVerifier, authReq.GetCodeChallenge()); err != nil {
		return nil, err
	}
	if r.Client.GetID() != authReq.GetClientID() {
		return nil, oidc.ErrInvalidGrant()
	}
	if r.Data.RedirectURI != authReq.GetRedirectURI() {
		return nil, oidc.ErrInvalidGrant().WithDescription("redirect_uri does not correspond")
	}
	if res := r.Form["resource"]; len(res) > 0 && (len(res) != 1 || !slices.Equal(authReq.GetAudience(), res)) {
		return nil, invalidTarget("the resource differs from the one authorized")
	}
	resp, err := op.CreateTokenResponse(ctx, authReq, r.Client, l.s.provider, true, r.Data.Code, "")
	if err != nil {
		return nil, err
	}
	return op.NewResponse(resp), nil
}

// metadata is the RFC 8414 authorization server metadata.
type metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	RegistrationEndpoint              string   `json:"registration_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	IntrospectionEndpoint             string   `json:"introspection_endpoint"`
	UserinfoEndpoint                  string   `json:"userinfo_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethods     []string `json:"revocation_endpoint_auth_methods_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	AuthorizationResponseIssSupported bool     `json:"authorization_response_iss_parameter_supported"`
	ClientIDMetadataDocumentSupported bool     `json:"client_id_metadata_document_supported"`
	ResourceIndicatorsRequired        bool     `json:"resource_indicators_required"`
}

// tokenEndpointAuthMethods: public clients (none, with PKCE) and the
// confidential clients operators register.
func tokenEndpointAuthMethods() []string {
	return []string{"none", "client_secret_basic", "client_secret_post"}
}

func (s *Server) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	m := metadata{
		Issuer:                            s.issuer,
		AuthorizationEndpoint:             s.issuer + "/oauth/authorize",
		TokenEndpoint:                     s.issuer + "/oauth/token",
		JWKSURI:                           s.issuer + "/oauth/keys",
		RegistrationEndpoint:              s.issuer + "/oauth/register",
		RevocationEndpoint:                s.issuer + "/oauth/revoke",
		IntrospectionEndpoint:             s.issuer + "/oauth/introspect",
		UserinfoEndpoint:                  s.issuer + "/oauth/userinfo",
		ScopesSupported:                   supportedScopes(),
		ResponseTypesSupported:            []string{"code"},
		ResponseModesSupported:            []string{"query"},
		GrantTypesSupported:               []string{"authorization_code", "refresh_token"},
		TokenEndpointAuthMethodsSupported: tokenEndpointAuthMethods(),
		RevocationEndpointAuthMethods:     tokenEndpointAuthMethods(),
		CodeChallengeMethodsSupported:     []string{"S256"},
		SubjectTypesSupported:             []string{"public"},
		IDTokenSigningAlgValuesSupported:  []string{"RS256"},
		AuthorizationResponseIssSupported: true,
		ResourceIndicatorsRequired:        true,
		ClientIDMetadataDocumentSupported: true,
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, http.StatusOK, m)
}

// registration is an RFC 7591 client registration request and response.
type registration struct {
	ClientID                string   `json:"client_id,omitempty"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at,omitempty"`
	ClientName              string   `json:"client_name,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
}

const maxRegistrationBytes = 16 << 10

// serveRegister is dynamic client registration (RFC 7591) for public
// clients.
func (s *Server) serveRegister(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	var req registration
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRegistrationBytes))
	if err := dec.Decode(&req); err != nil {
		registrationError(w, "invalid_client_metadata", "the body is not a JSON client registration")
		return
	}
	if len(req.RedirectURIs) == 0 || len(req.RedirectURIs) > 10 {
		registrationError(w, "invalid_redirect_uri", "one to ten redirect_uris are required")
		return
	}
	for _, u := range req.RedirectURIs {
		if err := checkRedirectURI(u); err != nil {
			registrationError(w, "invalid_redirect_uri", err.Error())
			return
		}
	}
	if m := req.TokenEndpointAuthMethod; m != "" && m != "none" {
		registrationError(w, "invalid_client_metadata", "only public clients (token_endpoint_auth_method none, with PKCE) are supported")
		return
	}
	for _, g := range req.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			registrationError(w, "invalid_client_metadata", "unsupported grant type "+g)
			return
		}
	}
	if len(req.ClientName) > 200 {
		registrationError(w, "invalid_client_metadata", "client_name is too long")
		return
	}
	uris, err := json.Marshal(req.RedirectURIs)
	if err != nil {
		registrationError(w, "invalid_client_metadata", "bad redirect_uris")
		return
	}
	c := store.OAuthClient{ID: "cli_" + randomToken(16), Name: req.ClientName, RedirectURIs: string(uris)}
	// The client and its audit record are stored together or not at all.
	err = s.store.InTx(r.Context(), func(tx *store.Store) error {
		if err := tx.CreateOAuthClient(r.Context(), &c); err != nil {
			return err
		}
		return recordAudit(r.Context(), tx, auditEvent{action: ActionClientRegister, actor: actorAnonymous, target: c.ID,
			details: map[string]any{"registration": c.Registration, "name": c.Name, "redirect_uris": req.RedirectURIs}})
	})
	if err != nil {
		s.log.ErrorContext(r.Context(), "registering an OAuth client", "error", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusCreated, registration{
		ClientID: c.ID, ClientIDIssuedAt: c.CreatedAt.Unix(), ClientName: c.Name, RedirectURIs: req.RedirectURIs,
		TokenEndpointAuthMethod: "none", GrantTypes: []string{"authorization_code", "refresh_token"},
		ResponseTypes: []string{"code"}, Scope: scopeMCP + " offline_access",
	})
}

// preflight answers CORS preflight requests for the metadata and the
// registration endpoint, which browser-based MCP clients call. Neither uses
// cookies, so any origin may.
func preflight(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, MCP-Protocol-Version")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

func registrationError(w http.ResponseWriter, code, desc string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	if w.Header().Get("Cache-Control") == "" {
		w.Header().Set("Cache-Control", "no-store")
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
