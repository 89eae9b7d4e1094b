// Package dashboard will mount asynqmon and the web UI; it is empty until that work lands.
package dashboard
