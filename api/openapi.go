package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v3"

	"github.com/filefleet/filefleet"
)

// openapiYAML is the OpenAPI 3 document of the API, served as JSON at /openapi.json.
//
//go:embed openapi.yaml
var openapiYAML []byte

// openapiJSON converts openapiYAML to JSON once.
var openapiJSON = sync.OnceValues(func() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	doc, err := jsonValue(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
})

// OpenAPI returns the OpenAPI 3 document of the API as JSON.
func OpenAPI() ([]byte, error) { return openapiJSON() }

// jsonValue turns YAML mappings with non-string keys (such as response codes) into JSON objects.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			var err error
			if v[k], err = jsonValue(e); err != nil {
				return nil, err
			}
		}
		return v, nil
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			var err error
			if m[fmt.Sprint(k)], err = jsonValue(e); err != nil {
				return nil, err
			}
		}
		return m, nil
	case []any:
		for i, e := range v {
			var err error
			if v[i], err = jsonValue(e); err != nil {
				return nil, err
			}
		}
		return v, nil
	}
	return v, nil
}

// serveDocs registers /openapi.json, /docs (Swagger UI) and /redoc (ReDoc); like /health they
// need no credentials. The document is converted when the router is built.
func (a *API) serveDocs(r *gin.Engine) {
	if _, err := openapiJSON(); err != nil {
		a.log.Error("openapi document", "err", err)
	}
	r.GET("/openapi.json", a.openapi)
	r.GET("/docs", func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(swaggerUIPage)) })
	r.GET("/redoc", func(c *gin.Context) { c.Data(http.StatusOK, "text/html; charset=utf-8", []byte(redocPage)) })
}

func (a *API) openapi(c *gin.Context) {
	doc, err := openapiJSON()
	if err != nil {
		a.fail(c, filefleet.WrapError(filefleet.EINTERNAL, err, "the OpenAPI document is broken"))
		return
	}
	c.Data(http.StatusOK, "application/json", doc)
}

// The documentation pages load Swagger UI and ReDoc from jsDelivr, pinned, with subresource
// integrity hashes (sha384 of the files of the npm packages swagger-ui-dist 5.35.0 and redoc
// 2.5.4, which jsDelivr serves unchanged).
const (
	swaggerUIPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>filefleet API</title>
<link rel="stylesheet" href="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0/swagger-ui.css"
  integrity="sha384-WlYgdmXYOOBWL5apwjDEZwN+U3HmXSSu5R6V5aGxEcf7z+KuRNwBhoxKVN1i3D5I" crossorigin="anonymous">
</head>
<body>
<div id="swagger-ui"></div>
<script src="https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.35.0/swagger-ui-bundle.js"
  integrity="sha384-gjRm0bEPMeTmMh5jT2cHccIwCUZSTd8YC+j0d0sXw0MdGEfScduGpSyF3ZSSLkX9" crossorigin="anonymous"></script>
<script>
window.onload = function () {
  window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: true});
};
</script>
</body>
</html>
`
	redocPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>filefleet API</title>
</head>
<body>
<redoc spec-url="/openapi.json"></redoc>
<script src="https://cdn.jsdelivr.net/npm/redoc@2.5.4/bundles/redoc.standalone.js"
  integrity="sha384-w447zOpYfw/1Tv/5AK9NfHTlQIqE3RVR6KY62jCyy9zNDgO64cMwGGP1Fj0zJVf5" crossorigin="anonymous"></script>
</body>
</html>
`
)
