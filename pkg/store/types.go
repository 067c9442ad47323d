package store

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// JSON is a JSON document kept in a JSONB (PostgreSQL) or TEXT (SQLite)
// column. A nil JSON is SQL NULL. It exists because the two drivers hand
// back different types (bytes and strings) and lib/pq needs text, not bytes,
// to fill a JSONB parameter. PostgreSQL keeps the document's meaning, not its
// bytes (jsonb drops whitespace and orders keys): compare documents decoded.
type JSON []byte

// Value implements driver.Valuer.
func (j JSON) Value() (driver.Value, error) {
	if j == nil {
		return nil, nil
	}
	if !json.Valid(j) {
		return nil, errors.New("invalid JSON document")
	}
	return string(j), nil
}

// Scan implements sql.Scanner, copying the driver's bytes.
func (j *JSON) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = slices.Clone(v)
	case string:
		*j = JSON(v)
	default:
		return fmt.Errorf("cannot scan %T into store.JSON", src)
	}
	return nil
}

// MarshalJSON makes a JSON field embed as the document itself.
func (j JSON) MarshalJSON() ([]byte, error) {
	if j == nil {
		return []byte("null"), nil
	}
	return j, nil
}

// UnmarshalJSON keeps the document as is.
func (j *JSON) UnmarshalJSON(b []byte) error {
	*j = slices.Clone(b)
	return nil
}

// StringList is a list of strings kept as a JSON array, such as a server's
// allowed hosts. Nil is stored as an empty array.
type StringList []string

// Value implements driver.Valuer.
func (l StringList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// Scan implements sql.Scanner.
func (l *StringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("cannot scan %T into store.StringList", src)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("scan string list: %w", err)
	}
	*l = out
	return nil
}
