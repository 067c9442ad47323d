package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type in struct {
	A string `json:"a" description:"A semantic version, such as 1.4.2 or v2.0.0-rc.1"`
	B string `json:"b" description:"Another semantic version"`
}

type out struct {
	Newer      string `json:"newer"`
	Comparison int    `json:"comparison" description:"-1 when a is older, 0 when equal, 1 when a is newer"`
}

func parts(v string) ([3]int, string, error) {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	v, _, _ = strings.Cut(v, "+")
	core, pre, _ := strings.Cut(v, "-")
	f := strings.Split(core, ".")
	var n [3]int
	if len(f) != 3 {
		return n, "", fmt.Errorf("%q is not MAJOR.MINOR.PATCH", v)
	}
	for i, s := range f {
		x, err := strconv.Atoi(s)
		if err != nil || x < 0 {
			return n, "", fmt.Errorf("%q is not MAJOR.MINOR.PATCH", v)
		}
		n[i] = x
	}
	return n, pre, nil
}

func compare(_ context.Context, i in) (out, error) {
	a, apre, err := parts(i.A)
	if err != nil {
		return out{}, err
	}
	b, bpre, err := parts(i.B)
	if err != nil {
		return out{}, err
	}
	c := 0
	for k := 0; k < 3 && c == 0; k++ {
		c = cmp.Compare(a[k], b[k])
	}
	if c == 0 && apre != bpre {
		switch {
		case apre == "":
			c = 1
		case bpre == "":
			c = -1
		default:
			c = strings.Compare(apre, bpre)
		}
	}
	o := out{Comparison: c, Newer: "equal"}
	if c > 0 {
		o.Newer = i.A
	} else if c < 0 {
		o.Newer = i.B
	}
	return o, nil
}

func main() {
	kiln.Run(kiln.Module{
		Tools: []kiln.Tool{kiln.NewTool("compare_versions", "Which of two semantic versions is newer", compare)},
	})
}
