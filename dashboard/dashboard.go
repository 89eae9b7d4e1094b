package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
	"unicode/utf8"
)

//go:embed static
var static embed.FS

// csp lets the UI load only its own files and talk only to its own origin.
const csp = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Handler serves the UI: index.html at / and the other assets under /ui/ (e.g. /ui/app.js).
// Other paths, and paths that are not UTF-8 (which fs.Sub would refuse with a 500), are 404.
// The pages are public; their data comes from the API.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree always has static/
	}
	files := http.FileServerFS(sub)
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", files)
	mux.Handle("GET /ui/", http.StripPrefix("/ui", files))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", csp)
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "no-cache")
		if !utf8.ValidString(r.URL.Path) {
			http.NotFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}
