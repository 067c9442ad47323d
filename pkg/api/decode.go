package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"unicode"
	"unicode/utf8"

	"github.com/kilnhq/kiln/pkg/store"
	"github.com/labstack/echo/v4"
)

// limitBody refuses request bodies over n bytes: at once when the
// Content-Length says so, otherwise when reading passes n.
func limitBody(n int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > n {
				return &http.MaxBytesError{Limit: n}
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, n)
			return next(c)
		}
	}
}

// maxParamBytes bounds a path or query parameter: ids and names are short.
const maxParamBytes = 256

// checkParams refuses path and query parameters that no id, name or filter
// can match: too long, not UTF-8, or holding control characters. Besides
// sparing the database pointless lookups, it keeps such bytes away from
// PostgreSQL, which rejects NUL and invalid UTF-8 in text with an error
// rather than a miss.
func checkParams(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		for i, name := range c.ParamNames() {
			if err := checkParam("path parameter "+name, c.ParamValues()[i]); err != nil {
				return err
			}
		}
		for name, values := range c.QueryParams() {
			for _, v := range values {
				if err := checkParam("query parameter "+strconv.Quote(name), v); err != nil {
					return err
				}
			}
		}
		return next(c)
	}
}

func checkParam(what, v string) error {
	if len(v) > maxParamBytes {
		return badRequest("%s is %d bytes; at most %d are allowed", what, len(v), maxParamBytes)
	}
	if !utf8.ValidString(v) {
		return badRequest("%s is not valid UTF-8", what)
	}
	for _, r := range v {
		if unicode.IsControl(r) {
			return badRequest("%s must not contain control characters", what)
		}
	}
	return nil
}

// decodeJSON reads the request body into v strictly: one JSON object, no
// unknown fields (a misspelt field is an error, not silently ignored).
func decodeJSON(c echo.Context, v any) error {
	return decode(c, v, true)
}

// decodeJSONQuiet is decodeJSON for bodies holding secret values: its
// errors do not quote the decoder, whose messages can repeat bytes of the
// input.
func decodeJSONQuiet(c echo.Context, v any) error {
	return decode(c, v, false)
}

func decode(c echo.Context, v any, detailed bool) error {
	r := c.Request()
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return errorf(http.StatusUnsupportedMediaType, "the request body must be application/json")
		}
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return tooLarge
		}
		return badRequest("reading the request body failed")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("the request body is empty; it must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if detailed {
			return badRequest("the request body is not valid for this endpoint: %s", jsonMessage(err))
		}
		return badRequest("the request body is not valid for this endpoint; see the OpenAPI document for its shape")
	}
	if dec.More() {
		return badRequest("the request body has data after its JSON object")
	}
	return nil
}

// jsonMessage phrases a decoding error without Go type names where it can.
func jsonMessage(err error) string {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		if typeErr.Field == "" {
			return "it must be a JSON object"
		}
		return "field " + strconv.Quote(typeErr.Field) + " must be " + jsonKind(typeErr.Type.Kind().String()) + ", not a JSON " + typeErr.Value
	}
	return err.Error()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "uint", "uint64":
		return "a whole number"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return "of another type"
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(c echo.Context, name string) (int64, error) {
	v := c.QueryParam(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest("query parameter %s must be a whole number of 0 or more", name)
	}
	return n, nil
}

// page reads a listing's ?before= (the previous page's next_before) and
// ?limit= (at most store.MaxPage of what, the listing's items).
func page(c echo.Context, what string) (before int64, limit int, err error) {
	if before, err = queryInt(c, "before"); err != nil {
		return 0, 0, err
	}
	n, err := queryInt(c, "limit")
	if err != nil {
		return 0, 0, err
	}
	if n > store.MaxPage {
		return 0, 0, badRequest("limit is %d; at most %d %s are returned at once", n, store.MaxPage, what)
	}
	return before, int(n), nil
}
