package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kilnhq/kiln/pkg/config"
)

// defaultServerURL is where `kiln serve` listens with no configuration.
const defaultServerURL = "http://127.0.0.1:8080"

// operatorClient talks to the operator API of a running service (or,
// with a customer's API key and the prefix /api/v1, to the user API).
type operatorClient struct {
	base   string
	prefix string // "/api/v1/admin" or "/api/v1"
	token  config.Token
	http   *http.Client
}

// clientFlags are the flags of every command that calls the operator API.
type clientFlags struct {
	server  string
	dataDir string
}

func (f *clientFlags) register(fs *flag.FlagSet, getenv config.Getenv) {
	registerServer(fs, &f.server, getenv)
	dataDir := getenv("KILN_DATA_DIR")
	if dataDir == "" {
		dataDir = "./kiln-data"
	}
	fs.StringVar(&f.dataDir, "data-dir", dataDir,
		"where a development service keeps its operator token, read when KILN_OPERATOR_TOKEN is unset (env KILN_DATA_DIR)")
}

// registerServer adds --server (KILN_SERVER_URL) to fs.
func registerServer(fs *flag.FlagSet, server *string, getenv config.Getenv) {
	def := getenv("KILN_SERVER_URL")
	if def == "" {
		def = defaultServerURL
	}
	fs.StringVar(server, "server", def, "base URL of the Kiln service (env KILN_SERVER_URL)")
}

// serverBase checks a --server value and returns it without a trailing slash.
func serverBase(server string) (string, error) {
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("--server/KILN_SERVER_URL %q is not an http(s) URL", server)
	}
	return strings.TrimSuffix(server, "/"), nil
}

// client returns a client for the service, with the operator token from
// KILN_OPERATOR_TOKEN or, failing that, the development token file.
func (f *clientFlags) client(env *environment) (*operatorClient, error) {
	base, err := serverBase(f.server)
	if err != nil {
		return nil, err
	}
	var token config.Token
	if v := env.getenv(config.EnvOperatorToken); v != "" {
		token = config.NewToken(strings.TrimSpace(v))
	} else {
		token, err = config.ReadOperatorTokenFile(f.dataDir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no operator token: set %s (a development service writes one to %s/%s)",
				config.EnvOperatorToken, f.dataDir, config.OperatorTokenFile)
		}
		if err != nil {
			return nil, fmt.Errorf("operator token: %w", err)
		}
	}
	// Uploads of large modules and builds can take a while; the timeout
	// only keeps a hung connection from hanging the CLI for ever.
	return &operatorClient{base: base, prefix: "/api/v1/admin", token: token, http: &http.Client{Timeout: 10 * time.Minute}}, nil
}

// apiError is an error answer of the API.
type apiError struct {
	status int
	body   map[string]any
}

func (e *apiError) Error() string {
	msg, _ := e.body["error"].(string)
	if msg == "" {
		msg = http.StatusText(e.status)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "the server answered %d: %s", e.status, msg)
	// Problems of refused Go source, one per line as the Go tools print them.
	if problems, ok := e.body["problems"].([]any); ok {
		for _, p := range problems {
			if m, ok := p.(map[string]any); ok {
				fmt.Fprintf(&b, "\n\t%v:%v:%v: %v", m["file"], m["line"], m["column"], m["message"])
			}
		}
	}
	if out, ok := e.body["output"].(string); ok && out != "" {
		b.WriteString("\n" + out)
	}
	return b.String()
}

// call sends a request to the API (path below c.prefix) and returns the
// answer's body. A non-2xx answer is an *apiError.
func (c *operatorClient) call(method, path, contentType string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequest(method, c.base+c.prefix+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token.Reveal())
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer: %w", err)
	}
	if res.StatusCode >= 300 {
		e := &apiError{status: res.StatusCode, body: map[string]any{}}
		if json.Unmarshal(data, &e.body) != nil {
			e.body["error"] = strings.TrimSpace(string(data))
		}
		return nil, e
	}
	return data, nil
}

// callJSON sends v as JSON (nil for no body).
func (c *operatorClient) callJSON(method, path string, v any) ([]byte, error) {
	if v == nil {
		return c.call(method, path, "", nil)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return c.call(method, path, "application/json", bytes.NewReader(data))
}

// printJSON writes an answer, indented, to stdout.
func printJSON(env *environment, data []byte) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	var out bytes.Buffer
	if err := json.Indent(&out, data, "", "  "); err != nil {
		return fmt.Errorf("the server's answer is not JSON: %w", err)
	}
	out.WriteByte('\n')
	_, err := env.stdout.Write(out.Bytes())
	return err
}
