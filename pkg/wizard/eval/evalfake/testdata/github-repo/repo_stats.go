package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	Repo string `json:"repo" description:"The repository as owner/name, such as golang/go"`
}

type out struct {
	Repo        string `json:"repo"`
	Description string `json:"description"`
	Stars       int    `json:"stars"`
	OpenIssues  int    `json:"open_issues"`
	License     string `json:"license"`
}

func stats(ctx context.Context, i in) (out, error) {
	owner, name, ok := strings.Cut(strings.TrimSpace(i.Repo), "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return out{}, fmt.Errorf("repo must be owner/name, such as golang/go, not %q", i.Repo)
	}
	var r struct {
		FullName    string `json:"full_name"`
		Description string `json:"description"`
		Stars       int    `json:"stargazers_count"`
		OpenIssues  int    `json:"open_issues_count"`
		License     *struct {
			SPDX string `json:"spdx_id"`
		} `json:"license"`
	}
	u := "http://{{UPSTREAM}}/repos/" + url.PathEscape(owner) + "/" + url.PathEscape(name)
	hdr := map[string][]string{"Accept": {"application/vnd.github+json"}}
	if err := kiln.GetJSON(ctx, u, hdr, &r); err != nil {
		return out{}, err
	}
	o := out{Repo: r.FullName, Description: r.Description, Stars: r.Stars, OpenIssues: r.OpenIssues, License: "none"}
	if r.License != nil {
		o.License = r.License.SPDX
	}
	return o, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools:  []kiln.Tool{kiln.NewTool("repo_stats", "Stars, open issues and license of a GitHub repository", stats)},
		Egress: []string{"http://{{UPSTREAM}}"},
	})
}
