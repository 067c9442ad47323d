package web_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/kilnhq/kiln/pkg/service/servicetest"
)

// TestBrowserOperator drives the operator page in headless Chromium: a
// wrong token is refused in words, the node's operator token (kept in the
// tab's sessionStorage, never a cookie) lists the customers, a customer's
// plan is changed and the change is in the audit log, and a signed library
// module is uploaded from the form.
func TestBrowserOperator(t *testing.T) {
	b := newBrowser(t)
	node := servicetest.Start(t, servicetest.Options{})
	customerID := createCustomer(t, node, "Globex")

	b.do("opening /operator", chromedp.Navigate(node.URL+"/operator"), chromedp.WaitVisible(chromedp.ID("op-token")), ready)
	b.check("operator sign-in")
	b.do("pasting a wrong token",
		chromedp.SendKeys(chromedp.ID("op-token"), "not-the-token"),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		statusHas("refused the operator token"))
	if stored := b.eval(`sessionStorage.getItem('kiln-operator-token')`); stored != nil {
		t.Errorf("a refused token is kept in sessionStorage: %v", stored)
	}

	b.do("pasting the operator token",
		chromedp.SendKeys(chromedp.ID("op-token"), node.OperatorToken),
		chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#customer-list tr[data-customer="`+customerID+`"]`)), loaded("#audit-list"))
	if row := b.text(`#customer-list tr[data-customer="` + customerID + `"]`); !strings.Contains(row, "Globex") {
		t.Errorf("customer row %q, want Globex", row)
	}
	if stored := b.eval(`sessionStorage.getItem('kiln-operator-token')`); stored != node.OperatorToken {
		t.Errorf("sessionStorage holds %v, want the operator token", stored)
	}
	if cookies := b.eval(`document.cookie`); strings.Contains(cookies.(string), node.OperatorToken) {
		t.Error("the operator token is in a cookie")
	}

	changePlan(t, b, node, customerID)
	uploadModule(t, b, node)
	b.check("operator")
}

// TestBrowserOperatorAccount: the first account of a development instance
// is its operator account. Signed in as usual, its navigation leads to the
// operator page, which works with its session (no token to paste); a plan
// change is in the audit log under its name. An account signed up later
// is no operator: the page offers it only the token form.
func TestBrowserOperatorAccount(t *testing.T) {
	b := newBrowser(t)
	node := servicetest.Start(t, servicetest.Options{})
	firstAccount(t, b, node.URL)
	customerID := createCustomer(t, node, "Globex")

	b.do("opening the operator page from the navigation", chromedp.Click(chromedp.CSS(`nav a[href="/operator"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#customer-list tr[data-customer="`+customerID+`"]`)), loaded("#audit-list"))
	if noToken := b.eval(`document.getElementById('op-token') === null`); noToken != true {
		t.Error("an operator account is asked for the operator token")
	}
	changePlan(t, b, node, customerID)
	users, err := node.Service.Store.UsersByEmail(t.Context(), "ada@example.com")
	if err != nil || len(users) != 1 || !users[0].Operator {
		t.Fatalf("the first account: %+v %v, want an operator", users, err)
	}
	if audit := b.text("#audit-list"); !strings.Contains(audit, "user:"+users[0].ID) {
		t.Errorf("the audit log %q does not name the operator account", audit)
	}
	b.screenshot("operator")
	b.check("operator account")

	b.do("signing out", chromedp.Click(chromedp.CSS(`.signout button`)), chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)))
	b.do("signing up", chromedp.Navigate(node.URL+"/signup"), chromedp.WaitVisible(chromedp.ID("f-name")),
		fill(map[string]string{"f-name": "Hooli", "f-username": "gavin", "f-password": "correct horse battery"}),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`)), loaded("#server-list"))
	if links := b.eval(`document.querySelectorAll('nav a[href="/operator"]').length`); links != float64(0) {
		t.Errorf("a signed-up account's navigation has %v operator links", links)
	}
	b.do("opening /operator", chromedp.Navigate(node.URL+"/operator"), chromedp.WaitVisible(chromedp.ID("op-token")), ready)
	b.check("operator page of a plain account")
}

// createCustomer creates a customer on the free plan through the API.
func createCustomer(t *testing.T, node *servicetest.Node, name string) string {
	t.Helper()
	resp, body := node.Do(t, "POST", "/api/v1/admin/customers", node.OperatorToken, map[string]string{"name": name, "tier": "free"})
	var cust struct{ ID string }
	if err := json.Unmarshal(body, &cust); err != nil || resp.StatusCode != 201 || cust.ID == "" {
		t.Fatalf("creating a customer: %s %s", resp.Status, body)
	}
	return cust.ID
}

// changePlan moves the customer to pro from its row, and finds the change
// in the page's audit log and in the store.
func changePlan(t *testing.T, b *browser, node *servicetest.Node, customerID string) {
	t.Helper()
	row := `#customer-list tr[data-customer="` + customerID + `"]`
	b.do("changing the plan",
		chromedp.SetValue(chromedp.ID("plan-"+customerID), "pro"),
		chromedp.Click(chromedp.CSS(row+` button[type="submit"]`)),
		statusHas("to the pro plan"))
	if audit := b.text("#audit-list"); !strings.Contains(audit, "customer.tier") || !strings.Contains(audit, `"to":"pro"`) {
		t.Errorf("audit log %q, want the customer.tier change to pro", audit)
	}
	cust, err := node.Service.Store.Customer(t.Context(), customerID)
	if err != nil || cust.Tier != "pro" {
		t.Fatalf("customer after the change: %+v %v, want the pro plan", cust, err)
	}
}

// uploadModule signs a module with the node's development library key
// and uploads it from the form, as an operator does with kiln library sign.
func uploadModule(t *testing.T, b *browser, node *servicetest.Node) {
	t.Helper()
	dir := t.TempDir()
	module := echoModule(t, "operator")
	modPath, sigPath := filepath.Join(dir, "echo.wasm"), filepath.Join(dir, "echo.wasm.sig")
	if err := os.WriteFile(modPath, module, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sigPath, node.SignLibrary(t, module), 0o600); err != nil {
		t.Fatal(err)
	}
	b.do("uploading a module",
		chromedp.SetUploadFiles(chromedp.ID("up-module"), []string{modPath}),
		chromedp.SetUploadFiles(chromedp.ID("up-signature"), []string{sigPath}),
		fill(map[string]string{"up-name": "echo", "up-version": "1.0.0"}),
		chromedp.SetValue(chromedp.ID("up-tier"), "pro"),
		chromedp.Click(chromedp.CSS(`#upload-form button[type="submit"]`)),
		statusHas("Uploaded echo@1.0.0"))
	lib, err := node.Service.Store.LibraryModule(t.Context(), "echo", "1.0.0")
	if err != nil || lib.MinTier != "pro" {
		t.Fatalf("uploaded module: %+v %v, want echo@1.0.0 for pro", lib, err)
	}
}

// statusHas waits until the page's live region says want.
func statusHas(want string) chromedp.Action[chromedp.Void] {
	w, _ := json.Marshal(want)
	return chromedp.Poll[chromedp.Void](`document.getElementById('status').textContent.includes(`+string(w)+`)`,
		chromedp.WithPollingMutation(), chromedp.WithPollingTimeout(0))
}

// eval evaluates a JavaScript expression on the page.
func (b *browser) eval(expr string) any {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[any](expr))
	if err != nil {
		b.t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}
