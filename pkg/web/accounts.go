package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/kilnhq/kiln/pkg/oauth"
	"github.com/kilnhq/kiln/pkg/store"
	"github.com/kilnhq/kiln/pkg/tier"
)

// The account forms: the first account of a fresh instance (/setup) and
// sign-up (/signup). They are the only changes the front end makes itself
// rather than through the API, since nobody is signed in yet. Each creates
// a customer on the free plan and its owner, a local account, and signs
// the browser in.

// formCSRFCookie holds the account forms' CSRF token: a cookie and a
// hidden field that must match (another site can set neither).
const formCSRFCookie = "kiln_web_csrf"

// errNotFresh answers a first-account form that lost the race for it.
const errNotFresh = "This instance already has an account: someone created it a moment ago. Sign in instead."

// Limits of the account forms' fields.
const (
	maxNameChars     = 100
	maxUsernameChars = 64
	maxEmailChars    = 254
	maxPasswordBytes = 1024
)

// formView is an account form's state: what was typed (never the
// password) and what is wrong with it.
type formView struct {
	Action, Heading, Intro, Submit string
	CSRF                           string
	Name, Username, Email          string
	Error                          string
	// Field is the input the error is about, focused on render.
	Field       string
	MinPassword int
}

func (w *Web) serveSetup(rw http.ResponseWriter, r *http.Request) {
	fresh, err := w.fresh(r)
	if err != nil {
		w.log.ErrorContext(r.Context(), "checking for a first account", "error", err)
		http.Error(rw, "Kiln could not read its database; try again.", http.StatusServiceUnavailable)
		return
	}
	f := formView{Action: "/setup", Heading: "Create the first account",
		Intro:  "This Kiln instance has no accounts yet. Create yours: you will own a new customer account on the free plan, be this instance's operator, and be signed in.",
		Submit: "Create account and sign in"}
	switch {
	case fresh:
		w.serveAccountForm(rw, r, f)
	case r.Method == http.MethodPost:
		// Someone else was quicker: say so rather than redirect, which
		// would look like success.
		f.Error = errNotFresh
		w.renderForm(rw, r, http.StatusConflict, f)
	default:
		http.Redirect(rw, r, "/", http.StatusSeeOther)
	}
}

func (w *Web) serveSignup(rw http.ResponseWriter, r *http.Request) {
	if !w.cfg.Signup {
		http.Redirect(rw, r, "/", http.StatusSeeOther)
		return
	}
	w.serveAccountForm(rw, r, formView{Action: "/signup", Heading: "Sign up",
		Intro: "Create an account: you will own a new customer account on the free plan.", Submit: "Sign up"})
}

// serveAccountForm shows the form, or creates the account it was sent.
func (w *Web) serveAccountForm(rw http.ResponseWriter, r *http.Request, f formView) {
	f.MinPassword = oauth.MinPasswordLength
	if r.Method == http.MethodGet {
		w.renderForm(rw, r, http.StatusOK, f)
		return
	}
	r.Body = http.MaxBytesReader(rw, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		f.Error = "The form could not be read; send it again."
		w.renderForm(rw, r, http.StatusBadRequest, f)
		return
	}
	f.Name = strings.TrimSpace(r.PostForm.Get("name"))
	f.Username = strings.TrimSpace(r.PostForm.Get("username"))
	f.Email = strings.TrimSpace(r.PostForm.Get("email"))
	cookie, err := r.Cookie(formCSRFCookie)
	if err != nil || subtle.ConstantTimeCompare([]byte(cookie.Value), []byte(r.PostForm.Get("csrf"))) != 1 {
		f.Error = "The form expired; send it again."
		w.renderForm(rw, r, http.StatusForbidden, f)
		return
	}
	password := r.PostForm.Get("password")
	if f.Field, f.Error = checkAccountForm(f, password); f.Error != "" {
		w.renderForm(rw, r, http.StatusUnprocessableEntity, f)
		return
	}
	status, field, msg := w.createAccount(rw, r, f, password)
	if msg != "" {
		f.Field, f.Error = field, msg
		w.renderForm(rw, r, status, f)
		return
	}
	http.Redirect(rw, r, "/servers", http.StatusSeeOther)
}

// checkAccountForm returns the field at fault and a message a person can
// act on, or "" when the form is good.
func checkAccountForm(f formView, password string) (field, msg string) {
	switch {
	case f.Name == "" || utf8.RuneCountInString(f.Name) > maxNameChars:
		return "name", "Give your organisation or project a name of at most 100 characters."
	case f.Username == "" || utf8.RuneCountInString(f.Username) > maxUsernameChars || strings.ContainsAny(f.Username, " \t\r\n"):
		return "username", "Choose a username of at most 64 characters, without spaces."
	case utf8.RuneCountInString(f.Email) > maxEmailChars || (f.Email != "" && !strings.Contains(f.Email, "@")):
		return "email", "The email address is not valid; leave it empty or correct it."
	case len(password) < oauth.MinPasswordLength:
		return "password", "The password needs at least 12 characters."
	case len(password) > maxPasswordBytes:
		return "password", "The password may have at most 1024 bytes."
	}
	return "", ""
}

// createAccount creates the customer, its owner and the session. When it
// fails it says with which status, about which field and why.
func (w *Web) createAccount(rw http.ResponseWriter, r *http.Request, f formView, password string) (int, string, string) {
	ctx := r.Context()
	var (
		cust store.Customer
		u    store.User
	)
	// One transaction: a half-made account is never left behind, and the
	// first account is created only while the store has no user.
	create := func(st *store.Store) error {
		cust = store.Customer{Name: f.Name, Tier: tier.Free}
		if err := st.CreateCustomer(ctx, &cust); err != nil {
			return err
		}
		var err error
		u, err = oauth.CreateLocalAccount(ctx, st, cust.ID, f.Username, f.Email, password, store.RoleOwner)
		if err != nil || f.Action != "/setup" || !fromLoopback(r) {
			return err
		}
		// The first account of a development instance is its operator
		// too when it is made on the machine itself: the person who started
		// it runs it. A development instance reachable from elsewhere
		// does not hand every customer to its first visitor; its operator
		// runs kiln admin set-operator.
		u.Operator = true
		return st.UpdateUser(ctx, &u)
	}
	var err error
	if f.Action == "/setup" {
		err = w.cfg.Store.FirstUser(ctx, create)
	} else {
		err = w.cfg.Store.InTx(ctx, create)
	}
	switch {
	case errors.Is(err, store.ErrNotFresh):
		return http.StatusConflict, "", errNotFresh
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict, "username", "That username is taken; choose another."
	case err != nil:
		w.log.ErrorContext(ctx, "creating an account", "form", f.Action, "error", err)
		return http.StatusServiceUnavailable, "", "Kiln could not create the account; try again."
	}
	w.auditSignup(r, cust, u, f.Action)
	if err := w.cfg.Sessions.Start(ctx, rw, u.ID); err != nil {
		w.log.ErrorContext(ctx, "signing in a new account", "user", u.ID, "error", err)
		return http.StatusServiceUnavailable, "", "The account was created, but Kiln could not sign you in; sign in with it."
	}
	return http.StatusOK, "", ""
}

// actionSignup is the audit action of an account created in the browser.
const actionSignup = "user.signup"

func (w *Web) auditSignup(r *http.Request, cust store.Customer, u store.User, form string) {
	details, err := json.Marshal(map[string]any{"form": form, "customer": cust.ID, "username": u.DisplayName})
	if err == nil {
		err = w.cfg.Store.RecordAudit(r.Context(), &store.AuditEntry{Actor: "user:" + u.ID, CustomerID: &cust.ID,
			Action: actionSignup, Target: u.ID, Details: store.JSON(details)})
	}
	if err != nil {
		w.log.ErrorContext(r.Context(), "recording a sign-up", "user", u.ID, "error", err)
	}
}

// renderForm renders an account form with a fresh CSRF token.
func (w *Web) renderForm(rw http.ResponseWriter, r *http.Request, status int, f formView) {
	f.CSRF = randomToken()
	http.SetCookie(rw, &http.Cookie{Name: formCSRFCookie, Value: f.CSRF, Path: f.Action, HttpOnly: true,
		Secure: strings.HasPrefix(w.cfg.PublicURL, "https://"), SameSite: http.SameSiteStrictMode, MaxAge: 1800})
	w.render(rw, r, status, "account", view{Title: f.Heading, Page: "account", Form: f})
}

func randomToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// fromLoopback reports whether the request's TCP peer is on this machine
// (not what a proxy header claims).
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
