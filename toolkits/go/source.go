// Package toolkit carries the source of the Go toolkit so that the kiln binary
// can build tool modules offline: `kiln build` writes these files into each
// build's temporary module and points the tool's go.mod at them.
//
// Tool authors import the SDK itself, github.com/kilnhq/kiln/toolkits/go/kiln.
package toolkit

import (
	"embed"
	"io/fs"
)

//go:embed go.mod kiln/*.go jsondoc/*.go
var source embed.FS

// Source returns the toolkit module's files: go.mod and the kiln and
// jsondoc packages.
func Source() fs.FS { return source }

// ModulePath is the import path prefix of the toolkit module.
const ModulePath = "github.com/kilnhq/kiln/toolkits/go"
