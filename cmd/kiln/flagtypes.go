package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag value such as 64MiB, 512KiB, 1GiB or a plain byte count.
type byteSize uint64

var byteUnits = []struct {
	suffix string
	scale  uint64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}

func (b *byteSize) String() string { return strconv.FormatUint(uint64(*b), 10) }

func (b *byteSize) Set(s string) error {
	num, scale := s, uint64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(s, u.suffix) {
			num, scale = strings.TrimSuffix(s, u.suffix), u.scale
			break
		}
	}
	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 64)
	if err != nil || n > (1<<63)/scale {
		return fmt.Errorf("%q is not a size such as 64MiB or 1048576", s)
	}
	*b = byteSize(n * scale)
	return nil
}

// envFlags collects repeated --var NAME=VALUE flags.
type envFlags struct{ values map[string]string }

func (e *envFlags) String() string { return "" }

func (e *envFlags) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("%q is not NAME=VALUE", s)
	}
	if e.values == nil {
		e.values = map[string]string{}
	}
	e.values[name] = value
	return nil
}

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}
