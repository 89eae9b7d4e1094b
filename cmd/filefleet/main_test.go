package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/auth"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/store"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestMainAllStartsAndStops runs `filefleet all` and `filefleet scheduler` until canceled.
func TestMainAllStartsAndStops(t *testing.T) {
	_, dbURL := testenv.DB(t)
	_, redisURL := testenv.Redis(t)
	t.Setenv("FILEFLEET_SECRET_KEY", testenv.SecretKey)
	for _, cmd := range []string{"all", "scheduler", "worker"} {
		ctx, cancel := context.WithCancel(context.Background())
		var out, errOut syncBuffer
		done := make(chan int)
		go func() {
			done <- Main(ctx, []string{cmd, "-addr", "127.0.0.1:0", "-database-url", dbURL, "-redis-url", redisURL}, &out, &errOut)
		}()
		deadline := time.Now().Add(20 * time.Second)
		for !strings.Contains(out.String(), "ready") {
			require.True(t, time.Now().Before(deadline), "%s did not start: %s", cmd, errOut.String())
			time.Sleep(20 * time.Millisecond)
		}
		if cmd == "all" {
			require.Contains(t, out.String(), "http://127.0.0.1:")
		}
		cancel()
		select {
		case code := <-done:
			require.Equal(t, 0, code, errOut.String())
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not stop", cmd)
		}
	}
}

func TestMainCommands(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, Main(context.Background(), []string{"version"}, &out, &errOut))
	require.Contains(t, out.String(), "filefleet")
	require.Equal(t, 2, Main(context.Background(), []string{"explode"}, &out, &errOut))
	require.Contains(t, errOut.String(), "unknown command")

	t.Setenv("FILEFLEET_SECRET_KEY", "")
	errOut.Reset()
	require.Equal(t, 1, Main(context.Background(), []string{"api"}, &out, &errOut))
	require.Contains(t, errOut.String(), "FILEFLEET_SECRET_KEY")

	// A bad Redis URL is reported without the password in it.
	t.Setenv("FILEFLEET_SECRET_KEY", strings.Repeat("ab", 32))
	errOut.Reset()
	require.Equal(t, 1, Main(context.Background(), []string{"worker", "-redis-url", "redis://:s3cretpw@127.0.0.1:notaport/0"}, &out, &errOut))
	require.Contains(t, errOut.String(), "bad FILEFLEET_REDIS_URL")
	require.Contains(t, errOut.String(), "REDACTED")
	require.NotContains(t, errOut.String(), "s3cretpw")
	errOut.Reset()
	require.Equal(t, 1, Main(context.Background(), []string{"worker", "-redis-mode", "sentinel", "-redis-url", "redis://127.0.0.1:26379/0"}, &out, &errOut))
	require.Contains(t, errOut.String(), "master_name")

	// -h shows no URL from the environment (they may hold passwords).
	t.Setenv("FILEFLEET_REDIS_URL", "redis://:s3cretpw@127.0.0.1:6379/0")
	t.Setenv("FILEFLEET_DATABASE_URL", "postgres://u:s3cretdb@127.0.0.1/x")
	errOut.Reset()
	require.Equal(t, 2, Main(context.Background(), []string{"worker", "-h"}, &out, &errOut))
	require.Contains(t, errOut.String(), "-redis-url")
	require.NotContains(t, errOut.String(), "s3cret")

	// The example secret's placeholders are refused (anyone could forge tokens with them).
	t.Setenv("FILEFLEET_SECRET_KEY", "CHANGE-ME-openssl-rand-hex-32")
	errOut.Reset()
	require.Equal(t, 2, Main(context.Background(), []string{"api"}, &out, &errOut))
	require.Contains(t, errOut.String(), "FILEFLEET_SECRET_KEY still holds the example's placeholder")
	t.Setenv("FILEFLEET_SECRET_KEY", strings.Repeat("ab", 32))
	t.Setenv("FILEFLEET_ADMIN_PASSWORD", "CHANGE-ME-a-long-passphrase")
	errOut.Reset()
	require.Equal(t, 2, Main(context.Background(), []string{"all"}, &out, &errOut))
	require.Contains(t, errOut.String(), "FILEFLEET_ADMIN_PASSWORD")
	require.NotContains(t, errOut.String(), "a-long-passphrase", "the value is not shown")
}

// TestAdminCreateAndBootstrap: `filefleet admin create` makes a user whose password works, and
// refuses a short one; the API's start makes the first admin from FILEFLEET_ADMIN_PASSWORD
// only while there are no users.
func TestAdminCreateAndBootstrap(t *testing.T) {
	db, dbURL := testenv.DB(t)
	ctx := context.Background()
	var out, errOut syncBuffer
	t.Setenv("FILEFLEET_ADMIN_PASSWORD", "short")
	require.Equal(t, 1, Main(ctx, []string{"admin", "create", "-username", "ops", "-role", "operator", "-database-url", dbURL}, &out, &errOut))
	require.Contains(t, errOut.String(), "at least 12 characters")

	require.Equal(t, filefleet.EINVALID, filefleet.ErrorCode(bootstrapAdmin(ctx, db, testenv.Logger(t))),
		"the API does not start with a short admin password")
	t.Setenv("FILEFLEET_ADMIN_PASSWORD", "first admin passphrase")
	require.NoError(t, bootstrapAdmin(ctx, db, testenv.Logger(t)))
	admin, err := store.UserByName(ctx, db, "admin")
	require.NoError(t, err)
	require.Equal(t, "admin", admin.Role)
	require.True(t, auth.CheckPassword("first admin passphrase", admin.PasswordHash))

	t.Setenv("FILEFLEET_ADMIN_PASSWORD", "the operator's passphrase")
	require.Equal(t, 0, Main(ctx, []string{"admin", "create", "-username", "ops", "-role", "operator", "-database-url", dbURL}, &out, &errOut),
		errOut.String())
	ops, err := store.UserByName(ctx, db, "ops")
	require.NoError(t, err)
	require.Equal(t, "operator", ops.Role)
	require.True(t, auth.CheckPassword("the operator's passphrase", ops.PasswordHash))
	require.NotContains(t, out.String()+errOut.String(), "passphrase", "passwords are not echoed")

	require.NoError(t, bootstrapAdmin(ctx, db, testenv.Logger(t)), "users exist: nothing to do")
	n, err := store.CountUsers(ctx, db)
	require.NoError(t, err)
	require.EqualValues(t, 2, n)
}

// TestEnvDurations: FILEFLEET_JOB_RETENTION=0 keeps every job (as documented), while a
// setting that must be positive falls back to its default on 0, junk or nothing.
func TestEnvDurations(t *testing.T) {
	for value, want := range map[string]time.Duration{"0": 0, "0s": 0, "48h": 48 * time.Hour, "": time.Hour, "soon": time.Hour, "-1h": time.Hour} {
		t.Setenv("FILEFLEET_TEST_DURATION", value)
		require.Equal(t, want, envDurationOff("FILEFLEET_TEST_DURATION", time.Hour), "%q", value)
	}
	for value, want := range map[string]time.Duration{"0": time.Hour, "": time.Hour, "90s": 90 * time.Second} {
		t.Setenv("FILEFLEET_TEST_DURATION", value)
		require.Equal(t, want, envDuration("FILEFLEET_TEST_DURATION", time.Hour), "%q", value)
	}
}
