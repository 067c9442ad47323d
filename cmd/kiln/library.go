package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/url"
	"os"

	"github.com/kilnhq/kiln/pkg/signing"
)

const libraryDescription = `Curated library modules: operators sign them with an ed25519 key and push them
to a service, which accepts only modules signed by a key it trusts
(KILN_LIBRARY_KEYS; a development service trusts <data-dir>/library-signing.key).

keygen, sign and verify work on local files; push, list, deprecate and
set-min-tier call the operator API like kiln admin.`

func runLibrary(env *environment, args []string) int {
	return runGroup(env, "library", libraryDescription, []subcommand{
		{"keygen", "create a signing key pair", libraryKeygen},
		{"sign", "sign a module, writing MODULE.sig", librarySign},
		{"verify", "verify a module's signature against trusted keys", libraryVerify},
		{"push", "upload a signed module to the service", libraryPush},
		{"list", "list library modules and their versions", libraryList},
		{"deprecate", "deprecate (or, with --undo, restore) a version", libraryDeprecate},
		{"set-min-tier", "change the plan a version requires", librarySetMinTier},
	}, args)
}

func libraryKeygen(env *environment, args []string) int {
	fs := newFlagSet(env, "library keygen", "-o library.key",
		"Creates an ed25519 signing key. The private key is written to the -o file (mode\n0600; an existing file is never overwritten); the public key, in the form\nKILN_LIBRARY_KEYS takes (ed25519:<base64>), is printed.")
	out := fs.String("o", "", "the private key file to create (required)")
	if _, status, ok := parseExact(env, fs, args, 0); !ok {
		return status
	}
	if *out == "" {
		fmt.Fprintln(env.stderr, "kiln library keygen: -o is required")
		return exitUsage
	}
	k, err := signing.GenerateKey()
	if err == nil {
		err = signing.WritePrivateKeyFile(*out, k)
	}
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln library keygen:", err)
		return exitFailed
	}
	fmt.Fprintln(env.stdout, k.Public().String())
	fmt.Fprintf(env.stderr, "kiln library keygen: wrote %s (key id %s); trust it with KILN_LIBRARY_KEYS=%s\n", *out, k.Public().ID(), k.Public())
	return exitOK
}

func librarySign(env *environment, args []string) int {
	fs := newFlagSet(env, "library sign", "--key library.key MODULE.wasm [-o MODULE.wasm.sig]",
		"Signs a module: writes a detached signature (format kiln-library-signature/v1:\nthe module's and its manifest's SHA-256, signed with ed25519) next to it.")
	keyFile := fs.String("key", "", "the private key file from kiln library keygen (required)")
	out := fs.String("o", "", "the signature file (default: MODULE.sig)")
	pos, status, ok := parseExact(env, fs, args, 1)
	if !ok {
		return status
	}
	if *keyFile == "" {
		fmt.Fprintln(env.stderr, "kiln library sign: --key is required")
		return exitUsage
	}
	if *out == "" {
		*out = pos[0] + ".sig"
	}
	err := func() error {
		k, err := signing.ReadPrivateKeyFile(*keyFile)
		if err != nil {
			return err
		}
		module, err := os.ReadFile(pos[0])
		if err != nil {
			return err
		}
		sig, err := signing.Sign(k, module)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		if err := os.WriteFile(*out, sig.Marshal(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "kiln library sign: wrote %s (module sha256 %s, key id %s)\n", *out, sig.ModuleSHA256, sig.KeyID)
		return nil
	}()
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln library sign:", err)
		return exitFailed
	}
	return exitOK
}

func libraryVerify(env *environment, args []string) int {
	fs := newFlagSet(env, "library verify", "[--keys ed25519:...] MODULE.wasm [MODULE.wasm.sig]",
		"Checks that the signature (default MODULE.sig) is valid for the module and made\nby a trusted key, as the service will when the module is pushed. Exits 0 and\nprints the signer's key id if so, 1 if not.")
	keys := fs.String("keys", env.getenv("KILN_LIBRARY_KEYS"), "trusted public keys, separated by commas (env KILN_LIBRARY_KEYS)")
	pos, status := parseArgs(fs, args)
	switch {
	case status == exitHelp:
		return exitOK
	case status != exitOK:
		return status
	case len(pos) != 1 && len(pos) != 2:
		fmt.Fprintf(env.stderr, "kiln library verify: expected 1 or 2 arguments, got %d\n", len(pos))
		fs.Usage()
		return exitUsage
	}
	trusted, err := signing.ParsePublicKeys(*keys)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln library verify: --keys:", err)
		return exitUsage
	}
	if len(trusted) == 0 {
		fmt.Fprintln(env.stderr, "kiln library verify: no trusted keys: give --keys or set KILN_LIBRARY_KEYS")
		return exitUsage
	}
	sigPath := pos[0] + ".sig"
	if len(pos) == 2 {
		sigPath = pos[1]
	}
	module, err := os.ReadFile(pos[0])
	var sig []byte
	if err == nil {
		sig, err = os.ReadFile(sigPath)
	}
	if err == nil {
		var signer signing.PublicKey
		if signer, err = signing.Verify(trusted, module, sig); err == nil {
			fmt.Fprintf(env.stdout, "ok: %s is signed by key %s\n", pos[0], signer.ID())
			return exitOK
		}
	}
	fmt.Fprintln(env.stderr, "kiln library verify:", err)
	return exitFailed
}

func libraryPush(env *environment, args []string) int {
	fs := newFlagSet(env, "library push", "MODULE.wasm --name NAME --version VERSION --min-tier PLAN [flags]",
		"Uploads a signed module to the service's library as NAME@VERSION, usable by\ncustomers on PLAN or a higher plan. The signature (default MODULE.sig, from\nkiln library sign) must verify under a key the service trusts; the service\nalso checks that the module can run. Versions are immutable.")
	name := fs.String("name", "", "the library module's name: a-z 0-9 - (required)")
	version := fs.String("version", "", "its version, such as 1.0.0 (required)")
	minTier := fs.String("min-tier", "", "the lowest plan that may use it (required)")
	description := fs.String("description", "", "a description (default: the module's only tool's)")
	sigPath := fs.String("signature", "", "the signature file (default: MODULE.sig)")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 1, func(c *operatorClient, pos []string) ([]byte, error) {
		if *name == "" || *version == "" || *minTier == "" {
			return nil, errors.New("--name, --version and --min-tier are required")
		}
		if *sigPath == "" {
			*sigPath = pos[0] + ".sig"
		}
		module, err := os.ReadFile(pos[0])
		if err != nil {
			return nil, err
		}
		sig, err := os.ReadFile(*sigPath)
		if err != nil {
			return nil, fmt.Errorf("the signature: %w (sign the module with kiln library sign)", err)
		}
		var body bytes.Buffer
		w := multipart.NewWriter(&body)
		for _, f := range []struct{ name, value string }{
			{"name", *name}, {"version", *version}, {"min_tier", *minTier}, {"description", *description},
		} {
			if f.value != "" {
				if err := w.WriteField(f.name, f.value); err != nil {
					return nil, err
				}
			}
		}
		for _, f := range []struct {
			part, file string
			data       []byte
		}{{"module", pos[0], module}, {"signature", *sigPath, sig}} {
			pw, err := w.CreateFormFile(f.part, f.file)
			if err != nil {
				return nil, err
			}
			if _, err := io.Copy(pw, bytes.NewReader(f.data)); err != nil {
				return nil, err
			}
		}
		if err := w.Close(); err != nil {
			return nil, err
		}
		return c.call("POST", "/library", w.FormDataContentType(), &body)
	})
}

func libraryList(env *environment, args []string) int {
	fs := newFlagSet(env, "library list", "[NAME]", "Lists every library module version, or the versions of NAME, deprecated ones included.")
	var cf clientFlags
	cf.register(fs, env.getenv)
	pos, status := parseArgs(fs, args)
	switch {
	case status == exitHelp:
		return exitOK
	case status != exitOK:
		return status
	case len(pos) > 1:
		fmt.Fprintf(env.stderr, "kiln library list: expected at most 1 argument, got %d\n", len(pos))
		return exitUsage
	}
	c, err := cf.client(env)
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln library list:", err)
		return exitUsage
	}
	path := "/library"
	if len(pos) == 1 {
		path += "/" + url.PathEscape(pos[0])
	}
	out, err := c.callJSON("GET", path, nil)
	if err == nil {
		err = printJSON(env, out)
	}
	if err != nil {
		fmt.Fprintln(env.stderr, "kiln library list:", err)
		return exitFailed
	}
	return exitOK
}

func libraryDeprecate(env *environment, args []string) int {
	fs := newFlagSet(env, "library deprecate", "NAME VERSION [--undo]",
		"Deprecates a library module version: tools that use it keep working, but it is\nno longer offered for new tools. --undo restores it.")
	undo := fs.Bool("undo", false, "restore a deprecated version")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 2, func(c *operatorClient, pos []string) ([]byte, error) {
		return c.callJSON("PATCH", "/library/"+url.PathEscape(pos[0])+"/"+url.PathEscape(pos[1]), map[string]bool{"deprecated": !*undo})
	})
}

func librarySetMinTier(env *environment, args []string) int {
	fs := newFlagSet(env, "library set-min-tier", "NAME VERSION PLAN",
		"Changes the lowest plan that may add a library module version to a server.")
	var cf clientFlags
	return operatorCommand(env, fs, &cf, args, 3, func(c *operatorClient, pos []string) ([]byte, error) {
		return c.callJSON("PATCH", "/library/"+url.PathEscape(pos[0])+"/"+url.PathEscape(pos[1]), map[string]string{"min_tier": pos[2]})
	})
}
