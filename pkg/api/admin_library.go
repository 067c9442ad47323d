package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/kilnhq/kiln/pkg/signing"
	"github.com/kilnhq/kiln/pkg/store"
)

// maxModuleBytes bounds an uploaded module. A Go tool is 3-10 MB.
const maxModuleBytes = 64 << 20

// maxFieldBytes bounds the text fields of an upload.
const maxFieldBytes = 4 << 10

// libraryUpload is the multipart form of POST /api/v1/admin/library.
type libraryUpload struct {
	Name, Version, MinTier, Description string
	Module, Signature                   []byte
	hasModule, hasSignature             bool
}

// readLibraryUpload streams the form's parts, bounding each, instead of
// letting ParseMultipartForm spill an unbounded number of parts to disk.
func readLibraryUpload(r *http.Request) (libraryUpload, error) {
	var up libraryUpload
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return up, errorf(http.StatusUnsupportedMediaType, "the upload must be multipart/form-data with the parts module, signature, name, version and min_tier")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return up, badRequest("the multipart body cannot be read: %v", err)
	}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return up, partError(err)
		}
		name := part.FormName()
		if seen[name] {
			return up, badRequest("the part %q appears twice", name)
		}
		seen[name] = true
		switch name {
		case "module":
			up.Module, err = readPart(part, maxModuleBytes, name)
			up.hasModule = true
		case "signature":
			up.Signature, err = readPart(part, signing.MaxSignatureBytes, name)
			up.hasSignature = true
		case "name", "version", "min_tier", "description":
			var b []byte
			b, err = readPart(part, maxFieldBytes, name)
			v := string(b)
			switch name {
			case "name":
				up.Name = v
			case "version":
				up.Version = v
			case "min_tier":
				up.MinTier = v
			case "description":
				up.Description = v
			}
		default:
			err = badRequest("unknown part %q; the parts are module, signature, name, version, min_tier and description", name)
		}
		if err != nil {
			return up, err
		}
	}
	return up, nil
}

func readPart(p *multipart.Part, limit int64, name string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(p, limit+1))
	if err != nil {
		return nil, partError(err)
	}
	if int64(len(b)) > limit {
		return nil, errorf(http.StatusRequestEntityTooLarge, "the %s part is larger than the %d bytes allowed", name, limit)
	}
	return b, nil
}

func partError(err error) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return tooLarge
	}
	return badRequest("the multipart body is malformed: %v", err)
}

func (s *Server) uploadLibrary(c echo.Context) error {
	up, err := readLibraryUpload(c.Request())
	if err != nil {
		return err
	}
	switch {
	case up.Name == "" || up.Version == "":
		return badRequest("the parts name and version are required")
	case !up.hasModule || len(up.Module) == 0:
		return badRequest("the module part is missing: send the .wasm file as the part \"module\"")
	case !up.hasSignature || len(up.Signature) == 0:
		return badRequest("the upload is unsigned: sign the module with `kiln library sign` and send the .sig file as the part \"signature\"")
	}
	if err := checkLibraryRef(up.Name, up.Version); err != nil {
		return err
	}
	if err := checkText("description", up.Description, maxDescription, false); err != nil {
		return err
	}
	if err := s.checkPlan(c, "min_tier", up.MinTier); err != nil {
		return err
	}
	// Verify before anything else touches the bytes: an unsigned or
	// altered module is not compiled, let alone stored.
	signer, err := signing.Verify(s.libraryKeys, up.Module, up.Signature)
	if err != nil {
		return unprocessable("the signature was refused: %v", err)
	}
	ctx := c.Request().Context()
	ref := up.Name + "@" + up.Version
	if _, err := s.store.LibraryModule(ctx, up.Name, up.Version); err == nil {
		return conflict("library module %s exists; versions are immutable, upload a new version", ref)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	mod, row, err := s.loadModule(ctx, up.Module)
	if err != nil {
		return err
	}
	if up.Description == "" && len(mod.Manifest.Tools) == 1 {
		up.Description = mod.Manifest.Tools[0].Description
	}
	lib := store.LibraryModule{
		Name: up.Name, Version: up.Version, ModuleHash: row.Hash, Description: up.Description,
		Signature: up.Signature, Signer: signer.ID(), MinTier: up.MinTier, UploadedBy: actor(c),
	}
	err = s.inTx(c, func(tx *store.Store) error {
		if err := tx.PutModule(ctx, &row, up.Module); err != nil {
			return err
		}
		if err := tx.CreateLibraryModule(ctx, &lib); err != nil {
			return err
		}
		return s.audit(c, tx, "", store.ActionLibraryUpload, ref, map[string]any{
			"module_hash": row.Hash, "signer": lib.Signer, "min_tier": lib.MinTier,
		})
	})
	if err != nil {
		if errors.Is(err, store.ErrConflict) {
			return conflict("library module %s exists; versions are immutable, upload a new version", ref)
		}
		return err
	}
	view, err := s.viewLibrary(ctx, lib)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, view)
}

func (s *Server) viewLibrary(ctx context.Context, l store.LibraryModule) (libraryView, error) {
	m, err := s.store.Module(ctx, l.ModuleHash)
	if err != nil {
		return libraryView{}, err
	}
	man, err := storedManifest(m)
	if err != nil {
		return libraryView{}, err
	}
	return libraryView{
		Name: l.Name, Version: l.Version, Description: l.Description, ModuleHash: l.ModuleHash, ModuleSize: m.Size,
		Tools: moduleTools(man), Signer: l.Signer, MinTier: l.MinTier, Deprecated: l.Deprecated,
		UploadedBy: l.UploadedBy, CreatedAt: l.CreatedAt, UpdatedAt: l.UpdatedAt,
	}, nil
}

func (s *Server) viewLibraries(ctx context.Context, libs []store.LibraryModule) (list[libraryView], error) {
	out := list[libraryView]{Items: make([]libraryView, 0, len(libs))}
	for _, l := range libs {
		v, err := s.viewLibrary(ctx, l)
		if err != nil {
			return out, err
		}
		out.Items = append(out.Items, v)
	}
	return out, nil
}

// listLibrary lists every version of every library module, deprecated ones
// included.
func (s *Server) listLibrary(c echo.Context) error {
	ctx := c.Request().Context()
	libs, err := s.store.ListLibraryModules(ctx, true)
	if err != nil {
		return err
	}
	out, err := s.viewLibraries(ctx, libs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *Server) listLibraryVersions(c echo.Context) error {
	name := c.Param("name")
	if err := checkLibraryRef(name, ""); err != nil {
		return err
	}
	ctx := c.Request().Context()
	libs, err := s.store.ListLibraryVersions(ctx, name)
	if err != nil {
		return err
	}
	if len(libs) == 0 {
		return notFound("there is no library module %s", name)
	}
	out, err := s.viewLibraries(ctx, libs)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

type updateLibraryRequest struct {
	Deprecated *bool   `json:"deprecated"`
	MinTier    *string `json:"min_tier"`
}

// updateLibrary deprecates (or restores) a version and changes its minimum
// tier: the only parts of a version that may change.
func (s *Server) updateLibrary(c echo.Context) error {
	var req updateLibraryRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.Deprecated == nil && req.MinTier == nil {
		return badRequest("nothing to change: give deprecated, min_tier or both")
	}
	name, version := c.Param("name"), c.Param("version")
	if err := checkLibraryRef(name, version); err != nil {
		return err
	}
	ctx := c.Request().Context()
	ref := name + "@" + version
	lib, err := s.store.LibraryModule(ctx, name, version)
	if errors.Is(err, store.ErrNotFound) {
		return notFound("there is no library module %s", ref)
	} else if err != nil {
		return err
	}
	if req.MinTier != nil {
		if err := s.checkPlan(c, "min_tier", *req.MinTier); err != nil {
			return err
		}
	}
	err = s.inTx(c, func(tx *store.Store) error {
		if req.Deprecated != nil && *req.Deprecated != lib.Deprecated {
			if err := tx.SetLibraryDeprecated(ctx, name, version, *req.Deprecated); err != nil {
				return err
			}
			if err := s.audit(c, tx, "", store.ActionLibraryDeprecate, ref, map[string]any{"deprecated": *req.Deprecated}); err != nil {
				return err
			}
		}
		if req.MinTier != nil && *req.MinTier != lib.MinTier {
			if err := tx.SetLibraryMinTier(ctx, name, version, *req.MinTier); err != nil {
				return err
			}
			return s.audit(c, tx, "", actionLibraryTier, ref, map[string]any{"from": lib.MinTier, "to": *req.MinTier})
		}
		return nil
	})
	if err != nil {
		return err
	}
	if lib, err = s.store.LibraryModule(ctx, name, version); err != nil {
		return fmt.Errorf("api: read back %s: %w", ref, err)
	}
	view, err := s.viewLibrary(ctx, lib)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, view)
}
