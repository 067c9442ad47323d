package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	URL string `json:"url" description:"An absolute URL"`
}

type out struct {
	Scheme string              `json:"scheme"`
	Host   string              `json:"host"`
	Port   string              `json:"port"`
	Path   string              `json:"path"`
	Query  map[string][]string `json:"query"`
}

func parse(_ context.Context, i in) (out, error) {
	u, err := url.Parse(strings.TrimSpace(i.URL))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return out{}, fmt.Errorf("%q is not an absolute URL such as https://example.com/path?q=1", i.URL)
	}
	q := map[string][]string(u.Query())
	return out{Scheme: u.Scheme, Host: u.Hostname(), Port: u.Port(), Path: u.Path, Query: q}, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("parse_url", "The parts of a URL", parse)},
	})
}
