package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/kilnhq/kiln/pkg/store"
)

func TestCreateUser(t *testing.T) {
	dataDir := t.TempDir()
	ctx := context.Background()
	st, err := store.Open(ctx, "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	cust := store.Customer{Name: "c", Tier: "free"}
	if err := st.CreateCustomer(ctx, &cust); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	run := func(password string, args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		env := &environment{stdout: &out, stderr: &errOut, getenv: func(name string) string {
			switch name {
			case "KILN_DATA_DIR":
				return dataDir
			case EnvUserPassword:
				return password
			}
			return ""
		}}
		return dispatch(env, append([]string{"create-user"}, args...)), out.String(), errOut.String()
	}
	if status, _, stderr := run("", "--customer", cust.ID, "--username", "dave"); status != exitUsage || !strings.Contains(stderr, EnvUserPassword) {
		t.Errorf("no password: %d %s", status, stderr)
	}
	if status, _, _ := run("short", "--customer", cust.ID, "--username", "dave"); status != exitFailed {
		t.Errorf("short password: %d", status)
	}
	status, stdout, stderr := run("a good long password", "--customer", cust.ID, "--username", "dave")
	if status != exitOK || !strings.Contains(stdout, "created user usr_") {
		t.Fatalf("create-user: %d %s %s", status, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "a good long password") {
		t.Error("the password was printed")
	}
	st, err = store.Open(ctx, "", dataDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	acct, err := st.LocalAccountByUsername(ctx, "dave")
	if err != nil || !strings.HasPrefix(acct.PasswordHash, "$argon2id$") {
		t.Errorf("stored account %+v %v", acct, err)
	}
}
