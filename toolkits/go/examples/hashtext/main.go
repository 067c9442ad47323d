// Command hashtext is an example tool module: digests and encodings.
package main

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"

	"github.com/kilnhq/kiln/toolkits/go/kiln"
)

type digestIn struct {
	Text      string `json:"text" description:"The text to hash (UTF-8)"`
	Algorithm string `json:"algorithm" enum:"sha1,sha256,sha512" description:"Digest algorithm"`
}

type digestOut struct {
	Algorithm string `json:"algorithm"`
	Hex       string `json:"hex" description:"Digest in lower-case hex"`
	Base64    string `json:"base64" description:"Digest in standard base64"`
}

func digest(_ context.Context, in digestIn) (digestOut, error) {
	var h hash.Hash
	switch in.Algorithm {
	case "sha1":
		h = sha1.New()
	case "sha256":
		h = sha256.New()
	default:
		h = sha512.New()
	}
	h.Write([]byte(in.Text))
	sum := h.Sum(nil)
	return digestOut{in.Algorithm, hex.EncodeToString(sum), base64.StdEncoding.EncodeToString(sum)}, nil
}

type decodeIn struct {
	Data string `json:"data" description:"Base64 (standard or URL alphabet, padded or not)"`
}

func decodeBase64(_ context.Context, in decodeIn) (string, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(in.Data); err == nil {
			return string(b), nil
		}
	}
	return "", fmt.Errorf("%q is not base64", in.Data)
}

func main() {
	kiln.Run(kiln.Module{Tools: []kiln.Tool{
		kiln.NewTool("digest", "Computes a SHA digest of a text", digest),
		kiln.NewTool("base64_decode", "Decodes base64 text", decodeBase64),
	}})
}
