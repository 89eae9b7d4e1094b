package dashboard_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet/dashboard"
)

func TestHandlerPaths(t *testing.T) {
	h := dashboard.Handler()
	for path, status := range map[string]int{
		"/":             http.StatusOK,
		"/ui/app.js":    http.StatusOK,
		"/ui/nope.js":   http.StatusNotFound,
		"/ui/%ff":       http.StatusNotFound,
		"/ui/a%ffb.css": http.StatusNotFound,
		"/elsewhere":    http.StatusNotFound,
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, status, rec.Code, path)
	}
}
