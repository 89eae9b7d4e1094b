// Package dashboard serves filefleet's web UI: static HTML, JavaScript and CSS embedded in the
// binary, which call the API with the signed-in user's credentials.
package dashboard
