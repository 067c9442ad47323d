package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPIDocument describes every route of routes.go. It is written by
// hand; TestOpenAPICoversEveryRoute holds it to the registered routes, and
// the API tests check each answer they get against its schemas.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3.1 document served at
// /api/v1/openapi.json.
func OpenAPIDocument() []byte { return append([]byte(nil), openAPIDocument...) }

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/json", openAPIDocument)
}
