package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/internal/testenv"
	"github.com/filefleet/filefleet/storage/local"
)

// cliRun runs `filefleet args...` and returns its exit code, stdout and stderr; no output
// may hold the API key.
func cliRun(t *testing.T, key string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(context.Background(), args, &out, &errOut)
	require.NotContains(t, out.String()+errOut.String(), key, "the API key was printed")
	return code, out.String(), errOut.String()
}

func cliEnv(t *testing.T, s *testenv.Stack, key string) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no cli.json of the user running the tests
	t.Setenv("FILEFLEET_API_URL", s.URL)
	t.Setenv("FILEFLEET_API_KEY", key)
}

func TestCLIScanWatchAndJobs(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	cliEnv(t, s, s.AdminKey)
	key := s.AdminKey
	dir := t.TempDir()
	for i, name := range []string{"a.txt", "b.jpg", "sub/c.txt"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte("x"), i+1), 0o644))
	}

	code, out, errOut := cliRun(t, key, "roots", "add", "r", "--kind", "local", "--path", dir)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "r")
	require.Contains(t, out, dir)
	code, out, errOut = cliRun(t, key, "roots", "ls")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "local")

	// submit --watch: the bar reaches 100% on stderr, the final job is on stdout.
	code, out, errOut = cliRun(t, key, "submit", "scan", "--root", "r", "--watch")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "100%")
	require.Contains(t, out, "succeeded")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	require.Contains(t, lines[0], "PROGRESS")
	id := strings.Fields(lines[1])[0]
	require.NoError(t, uuid.Validate(id))

	code, out, errOut = cliRun(t, key, "jobs", "ls", "--output", "json")
	require.Equal(t, 0, code, errOut)
	var jobs []filefleet.Job
	require.NoError(t, json.Unmarshal([]byte(out), &jobs), out)
	require.NotEmpty(t, jobs)
	require.Equal(t, id, jobs[0].ID)
	require.Equal(t, filefleet.JobStateSucceeded, jobs[0].Status)

	code, out, errOut = cliRun(t, key, "jobs", "ls", "--type", "scan", "--limit", "5")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, id)

	code, out, errOut = cliRun(t, key, "jobs", "get", id)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, id)
	require.Contains(t, out, "scan")

	// Watching a finished job returns at once; --output json gives events as JSON lines.
	code, out, errOut = cliRun(t, key, "jobs", "watch", id)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "succeeded")
	code, out, errOut = cliRun(t, key, "jobs", "watch", id, "--output", "json")
	require.Equal(t, 0, code, errOut)
	last := strings.Split(strings.TrimSpace(out), "\n")
	var ev filefleet.Event
	require.NoError(t, json.Unmarshal([]byte(last[len(last)-1]), &ev), out)
	require.Equal(t, filefleet.EventJobCompleted, ev.Type)
	require.NotContains(t, errOut, "%")

	// A hash job, then a dedupe scan, watched.
	code, _, errOut = cliRun(t, key, "submit", "hash", "--root", "r", "--watch")
	require.Equal(t, 0, code, errOut)
	code, out, errOut = cliRun(t, key, "dedupe", "scan", "--roots", "r", "--watch")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "dedupe")

	// Errors: the envelope's message and code, exit 1; usage errors exit 2.
	code, _, errOut = cliRun(t, key, "jobs", "get", uuid.NewString())
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "(NOT_FOUND)")
	require.True(t, strings.HasPrefix(errOut, "filefleet: "), errOut)
	code, _, errOut = cliRun(t, key, "submit", "scan")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "--root is required")
	code, _, _ = cliRun(t, key, "jobs", "explode")
	require.Equal(t, 2, code)

	viewer := s.NewUser(t, "v", "viewer")
	code, _, errOut = cliRun(t, viewer, "submit", "scan", "--root", "r", "--api-key", viewer)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "FORBIDDEN")

	code, _, errOut = cliRun(t, key, "roots", "rm", "r")
	require.Equal(t, 0, code, errOut)
	code, _, errOut = cliRun(t, key, "roots", "get", "r")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "NOT_FOUND")
}

func TestCLICancelAndConfigFile(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	cliEnv(t, s, "")
	t.Setenv("FILEFLEET_API_URL", "")
	t.Setenv("FILEFLEET_API_KEY", "")
	key := s.AdminKey
	// The config file gives URL and key when the environment does not.
	conf := filepath.Join(os.Getenv("XDG_CONFIG_HOME"), "filefleet")
	require.NoError(t, os.MkdirAll(conf, 0o700))
	b, _ := json.Marshal(map[string]string{"api_url": s.URL, "api_key": key})
	require.NoError(t, os.WriteFile(filepath.Join(conf, "cli.json"), b, 0o600))

	code, _, errOut := cliRun(t, key, "roots", "add", "r", "--kind", "local", "--path", t.TempDir())
	require.Equal(t, 0, code, errOut)
	code, out, errOut := cliRun(t, key, "submit", "scan", "--root", "r", "--output", "json")
	require.Equal(t, 0, code, errOut)
	var job filefleet.Job
	require.NoError(t, json.Unmarshal([]byte(out), &job), out)
	require.Equal(t, filefleet.JobStatePending, job.Status)

	code, out, errOut = cliRun(t, key, "jobs", "cancel", job.ID)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "canceled")
	// Watching the canceled job: exit 1.
	code, out, errOut = cliRun(t, key, "jobs", "watch", job.ID)
	require.Equal(t, 1, code, errOut)
	require.Contains(t, out, "canceled")

	// A flag overrides the file: a wrong key is UNAUTHORIZED.
	code, _, errOut = cliRun(t, key, "jobs", "ls", "--api-key", "fo_bad_key")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "UNAUTHORIZED")
	require.Contains(t, errOut, "set FILEFLEET_API_KEY or --api-key-file")
}

// TestCLIDedupeAndOrganize: plans made, executed and undone through the CLI.
func TestCLIDedupeAndOrganize(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{})
	cliEnv(t, s, s.AdminKey)
	key := s.AdminKey
	dir := t.TempDir()
	for _, name := range []string{"a.txt", "copy.txt", "pic.jpg"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte("same content"), 0o644))
	}
	code, _, errOut := cliRun(t, key, "roots", "add", "r", "--kind", "local", "--path", dir)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = cliRun(t, key, "submit", "scan", "--root", "r", "--watch")
	require.Equal(t, 0, code, errOut)
	jsonOut := func(v any, args ...string) {
		t.Helper()
		code, out, errOut := cliRun(t, key, append(args, "--output", "json")...)
		require.Equal(t, 0, code, errOut)
		require.NoError(t, json.Unmarshal([]byte(out), v), out)
	}
	watch := func(id string) {
		t.Helper()
		code, out, errOut := cliRun(t, key, "jobs", "watch", id)
		require.Equal(t, 0, code, errOut+out)
	}
	// execute and undo --watch follow the job they start to its end.
	watchRun := func(args ...string) {
		t.Helper()
		code, out, errOut := cliRun(t, key, append(args, "--watch")...)
		require.Equal(t, 0, code, errOut+out)
		require.Contains(t, out, "succeeded")
		require.Contains(t, errOut, "100%")
	}

	var scan filefleet.Job
	jsonOut(&scan, "dedupe", "scan", "--roots", "r")
	watch(scan.ID)
	var preview struct {
		PlanID  string `json:"plan_id"`
		Summary struct {
			Action string `json:"action"`
		} `json:"summary"`
		Params struct {
			PreferredRoot string `json:"preferred_root"`
		} `json:"params"`
	}
	jsonOut(&preview, "dedupe", "preview", "--job", scan.ID, "--action", "report", "--preferred-root", "r",
		"--preferred-prefix", "sub")
	require.Equal(t, "report", preview.Summary.Action)
	require.Equal(t, "r", preview.Params.PreferredRoot)
	jsonOut(&preview, "dedupe", "preview", "--job", scan.ID, "--keep", "oldest")
	require.NotEmpty(t, preview.PlanID)
	code, out, errOut := cliRun(t, key, "dedupe", "preview", "--job", scan.ID)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "GROUPS")
	require.Regexp(t, `\s+trash\n`, out) // the default action, last column
	watchRun("dedupe", "execute", "--plan", preview.PlanID)
	watchRun("dedupe", "undo", "--plan", preview.PlanID)

	var org filefleet.Job
	jsonOut(&org, "organize", "scan", "--root", "r", "--methodology", "by_type")
	watch(org.ID)
	var dry struct {
		Plan struct {
			PlanID string `json:"plan_id"`
		} `json:"plan"`
	}
	jsonOut(&dry, "organize", "execute", "--job", org.ID, "--dry-run")
	require.NotEmpty(t, dry.Plan.PlanID)
	code, out, errOut = cliRun(t, key, "organize", "execute", "--job", org.ID, "--dry-run")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "dry run")
	require.Equal(t, dry.Plan.PlanID, strings.Fields(strings.Split(out, "\n")[1])[0], out)
	watchRun("organize", "execute", "--job", org.ID)
	watchRun("organize", "undo", "--job", org.ID)

	// A root whose duplicates a plan trashed is kept (the plan could undo), unless --force.
	jsonOut(&scan, "dedupe", "scan", "--roots", "r")
	watch(scan.ID)
	jsonOut(&preview, "dedupe", "preview", "--job", scan.ID, "--keep", "oldest")
	watchRun("dedupe", "execute", "--plan", preview.PlanID)
	code, _, errOut = cliRun(t, key, "roots", "rm", "r")
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "force")
	code, _, errOut = cliRun(t, key, "roots", "rm", "r", "--force")
	require.Equal(t, 0, code, errOut)
}

// TestCLIRootsAddFlags: roots add passes every setting of smb and s3 roots; --no-verify
// skips the connection check; an unset --password-env variable is an error naming it.
func TestCLIRootsAddFlags(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	cliEnv(t, s, s.AdminKey)
	key := s.AdminKey
	t.Setenv("FF_TEST_SMB_PASSWORD", "pw")
	t.Setenv("FF_TEST_UNSET", "")
	nobody := fmt.Sprintf("%d", testenv.FreePort(t)) // nothing listens: only --no-verify adds the root
	smb := []string{"roots", "add", "nas", "--kind", "smb", "--host", "127.0.0.1", "--port", nobody, "--share", "data",
		"--path", "photos", "--username", "u", "--domain", "HOME", "--password-env"}

	code, _, errOut := cliRun(t, key, append(smb, "FF_TEST_UNSET", "--no-verify")...)
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "FF_TEST_UNSET")
	code, _, errOut = cliRun(t, key, append(smb, "FF_TEST_SMB_PASSWORD")...)
	require.Equal(t, 1, code)
	require.Contains(t, errOut, "127.0.0.1:"+nobody) // the check tried --port
	code, _, errOut = cliRun(t, key, append(smb, "FF_TEST_SMB_PASSWORD", "--no-verify")...)
	require.Equal(t, 0, code, errOut)
	var root filefleet.Root
	code, out, errOut := cliRun(t, key, "roots", "get", "nas", "--output", "json")
	require.Equal(t, 0, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &root), out)
	require.Equal(t, nobody, fmt.Sprint(root.Port))
	require.Equal(t, "HOME", root.Domain)

	t.Setenv("FILEFLEET_ROOT_SECRET_KEY", "s3-secret")
	code, _, errOut = cliRun(t, key, "roots", "add", "bucket", "--kind", "s3", "--endpoint", "127.0.0.1:"+nobody,
		"--bucket", "b", "--region", "eu-west-1", "--use-ssl", "--access-key", "ak", "--no-verify")
	require.Equal(t, 0, code, errOut)
	code, out, errOut = cliRun(t, key, "roots", "get", "bucket", "--output", "json")
	require.Equal(t, 0, code, errOut)
	require.NoError(t, json.Unmarshal([]byte(out), &root), out)
	require.Equal(t, "eu-west-1", root.Region)
	require.True(t, root.UseSSL)

	code, out, errOut = cliRun(t, key, "roots", "ls")
	require.Equal(t, 0, code, errOut)
	require.Regexp(t, `nas\s+smb\s+//127.0.0.1:`+nobody+`/data/photos\n`, out)
	require.Regexp(t, `bucket\s+s3\s+127.0.0.1:`+nobody+`/b\n`, out)
}

// TestCLISecretsOutOfArgs: secrets come from variables and files; given as flags (visible
// in ps) they still work, with a warning.
func TestCLISecretsOutOfArgs(t *testing.T) {
	s := testenv.NewStack(t, testenv.StackOpts{NoWorker: true})
	cliEnv(t, s, "")
	key := s.AdminKey
	keyFile := filepath.Join(t.TempDir(), "key")
	require.NoError(t, os.WriteFile(keyFile, []byte(key+"\n"), 0o600))

	code, _, errOut := cliRun(t, key, "roots", "ls", "--api-key-file", keyFile)
	require.Equal(t, 0, code, errOut)
	require.Empty(t, errOut)
	code, _, errOut = cliRun(t, key, "roots", "ls", "--api-key", key)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "warning: --api-key is visible to other users")

	// The connection check only passes with the secret from --secret-key-env.
	cfg, mc := testenv.S3(t)
	bucket := testenv.Bucket(t, mc)
	t.Setenv("FILEFLEET_ROOT_SECRET_KEY", "wrong-secret")
	t.Setenv("FF_TEST_S3_SECRET", cfg.SecretKey)
	t.Setenv("FF_TEST_UNSET", "")
	s3 := []string{"roots", "add", "s3a", "--kind", "s3", "--endpoint", cfg.Endpoint, "--bucket", bucket,
		"--access-key", cfg.AccessKey, "--api-key-file", keyFile}
	code, _, errOut = cliRun(t, key, append(s3, "--secret-key-env", "FF_TEST_UNSET")...)
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "FF_TEST_UNSET")
	code, _, errOut = cliRun(t, key, append(s3, "--secret-key-env", "FF_TEST_S3_SECRET")...)
	require.Equal(t, 0, code, errOut)
	require.Empty(t, errOut)
	code, _, errOut = cliRun(t, cfg.SecretKey, "roots", "add", "s3b", "--kind", "s3", "--endpoint", cfg.Endpoint,
		"--bucket", bucket, "--access-key", cfg.AccessKey, "--api-key-file", keyFile, "--secret-key", cfg.SecretKey)
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "warning: --secret-key is visible to other users")
}

// TestCLIScanAllowEmpty: a scan that finds the root empty while the catalog holds its files
// fails (exit 1, the job's error says why); --allow-empty records the files as gone.
func TestCLIScanAllowEmpty(t *testing.T) {
	recheck := local.RootRecheck
	t.Cleanup(func() { local.RootRecheck = recheck })
	local.RootRecheck = 0
	s := testenv.NewStack(t, testenv.StackOpts{})
	cliEnv(t, s, s.AdminKey)
	dir := filepath.Join(t.TempDir(), "nas")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.txt"), []byte("a"), 0o644))
	code, _, errOut := cliRun(t, s.AdminKey, "roots", "add", "nas", "--kind", "local", "--path", dir)
	require.Equal(t, 0, code, errOut)
	code, _, errOut = cliRun(t, s.AdminKey, "submit", "scan", "--root", "nas", "--watch")
	require.Equal(t, 0, code, errOut)

	require.NoError(t, os.Rename(dir, dir+".away"))
	require.NoError(t, os.Mkdir(dir, 0o755))
	code, out, errOut := cliRun(t, s.AdminKey, "submit", "scan", "--root", "nas", "--watch")
	require.Equal(t, 1, code, errOut)
	require.Contains(t, out+errOut, "is its storage mounted")
	code, out, errOut = cliRun(t, s.AdminKey, "submit", "scan", "--root", "nas", "--allow-empty", "--watch")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "succeeded")
}
