package main

import (
	"bufio"
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/store"
)

// adminCreate runs `filefleet admin create`: a user (an admin by default) whose password
// comes from FILEFLEET_ADMIN_PASSWORD or the first line of stdin, never from a flag.
func adminCreate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("admin create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	username := fs.String("username", "admin", "user name")
	email := fs.String("email", "", "e-mail address")
	role := fs.String("role", auth.RoleAdmin, "role: admin, operator, viewer or a custom one")
	dbURL := fs.String("database-url", "", "PostgreSQL URL (default: FILEFLEET_DATABASE_URL)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	*dbURL = cmp.Or(*dbURL, databaseURL())
	password := os.Getenv("FILEFLEET_ADMIN_PASSWORD")
	if password == "" {
		fmt.Fprintf(stderr, "password for %s (at least %d characters): ", *username, auth.MinPasswordLength)
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		password = strings.TrimRight(line, "\r\n")
	}
	db, err := store.Open(ctx, *dbURL)
	if err == nil {
		defer db.Close()
		err = createUser(ctx, db, *username, *email, password, *role)
	}
	if err != nil {
		fmt.Fprintf(stderr, "filefleet admin create: %s\n", filefleet.ErrorMessage(err))
		return 1
	}
	fmt.Fprintf(stdout, "user %s (%s) created; log in with POST /api/v1/auth/login\n", *username, *role)
	return 0
}

func createUser(ctx context.Context, db *sqlx.DB, username, email, password, role string) error {
	hash, err := auth.HashPassword(password)
	if err != nil {
		return err
	}
	_, err = store.CreateUser(ctx, db, username, email, hash, role)
	return err
}

// bootstrapAdmin creates the first admin from FILEFLEET_ADMIN_USERNAME (default admin) and
// FILEFLEET_ADMIN_PASSWORD when the API starts with no users at all; there is no default
// password, so without the variable nothing is created.
func bootstrapAdmin(ctx context.Context, db *sqlx.DB, log *slog.Logger) error {
	password := os.Getenv("FILEFLEET_ADMIN_PASSWORD")
	if password == "" {
		return nil
	}
	n, err := store.CountUsers(ctx, db)
	if err != nil || n > 0 {
		return err
	}
	username := env("FILEFLEET_ADMIN_USERNAME", "admin")
	err = createUser(ctx, db, username, "", password, auth.RoleAdmin)
	if filefleet.ErrorCode(err) == filefleet.ECONFLICT {
		return nil // another API replica made it first
	}
	if err == nil {
		log.Info("first admin created", "username", username)
	}
	return err
}
