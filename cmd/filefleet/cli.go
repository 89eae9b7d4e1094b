package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/filefleet/filefleet"
	"github.com/filefleet/filefleet/client"
)

const cliUsage = `
Client commands (talk to the REST API):
  filefleet submit scan --root R [--prefix P] [--allow-empty] [--watch] | hash --root R [--watch] | dedupe --roots a,b [--watch]
  filefleet jobs ls [--status S] [--type T] [--limit N] | get ID | cancel ID | watch ID
  filefleet roots ls | get NAME | rm NAME [--force]
  filefleet roots add NAME [--no-verify] --kind local --path DIR
                     | --kind s3 --endpoint H:P --bucket B [--prefix P] [--region R] [--use-ssl] --access-key K
                         (secret: --secret-key-env VAR or FILEFLEET_ROOT_SECRET_KEY; --secret-key shows in ps)
                     | --kind smb --host H [--port 445] --share S [--path P] --username U --password-env VAR [--domain D]
  filefleet dedupe scan --roots a,b [--watch]
                  | preview --job ID [--keep oldest] [--action trash|delete|report] [--preferred-root R] [--preferred-prefix P]
                  | execute --plan ID [--watch] | undo --plan ID [--watch]
  filefleet organize scan --root R [--path P] --methodology by_type [--watch]
                    | execute --job ID [--dry-run] [--watch] | undo --job ID [--watch]
  filefleet <command> -h prints the command's flags.
  --watch follows the job: progress on stderr, exit code 1 unless it succeeded.
  Global flags: --api-url (FILEFLEET_API_URL, default http://127.0.0.1:8080),
  --api-key-file PATH (or FILEFLEET_API_KEY; --api-key K shows in ps), --output table|json,
  before or after the command;
  ~/.config/filefleet/cli.json {"api_url","api_key"} is read first when present.
`

// cliOpts holds every flag of the client commands; each command declares the ones it uses.
type cliOpts struct {
	apiURL, apiKey, apiKeyFile, output              string
	root, prefix, roots, status, typ, job, plan     string
	kind, path, endpoint, bucket, region, accessKey string
	secretKey, secretKeyEnv, host, share, username  string
	passwordEnv, domain                             string
	keep, action, preferredRoot, preferredPrefix    string
	methodology                                     string
	limit, port                                     int
	watch, dryRun, useSSL, noVerify, allowEmpty     bool
	force                                           bool
}

// cliFlags defines the flags commands may name.
var cliFlags = map[string]func(*flag.FlagSet, *cliOpts){
	"root":    func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.root, "root", "", "storage root") },
	"prefix":  func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.prefix, "prefix", "", "directory inside the root") },
	"roots":   func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.roots, "roots", "", "comma list of roots") },
	"status":  func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.status, "status", "", "job status") },
	"type":    func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.typ, "type", "", "job type") },
	"limit":   func(fs *flag.FlagSet, o *cliOpts) { fs.IntVar(&o.limit, "limit", 0, "jobs to list") },
	"watch":   func(fs *flag.FlagSet, o *cliOpts) { fs.BoolVar(&o.watch, "watch", false, "follow the job") },
	"dry-run": func(fs *flag.FlagSet, o *cliOpts) { fs.BoolVar(&o.dryRun, "dry-run", false, "change nothing") },
	"allow-empty": func(fs *flag.FlagSet, o *cliOpts) {
		fs.BoolVar(&o.allowEmpty, "allow-empty", false, "record files as gone when the scan finds none (else it fails)")
	},
	"kind":     func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.kind, "kind", "", "local, s3 or smb") },
	"path":     func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.path, "path", "", "directory") },
	"endpoint": func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.endpoint, "endpoint", "", "s3 host:port") },
	"bucket":   func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.bucket, "bucket", "", "s3 bucket") },
	"region":   func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.region, "region", "", "s3 region") },
	"use-ssl":  func(fs *flag.FlagSet, o *cliOpts) { fs.BoolVar(&o.useSSL, "use-ssl", false, "s3 over https") },
	"port":     func(fs *flag.FlagSet, o *cliOpts) { fs.IntVar(&o.port, "port", 0, "smb port (default 445)") },
	"domain":   func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.domain, "domain", "", "smb domain") },
	"force": func(fs *flag.FlagSet, o *cliOpts) {
		fs.BoolVar(&o.force, "force", false, "delete even though a plan could still undo its changes in the root")
	},
	"no-verify": func(fs *flag.FlagSet, o *cliOpts) {
		fs.BoolVar(&o.noVerify, "no-verify", false, "add the root without checking that it answers")
	},
	"access-key": func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.accessKey, "access-key", "", "s3 access key") },
	"secret-key": func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.secretKey, "secret-key", "", "s3 secret key") },
	"secret-key-env": func(fs *flag.FlagSet, o *cliOpts) {
		fs.StringVar(&o.secretKeyEnv, "secret-key-env", "", "variable holding the s3 secret key")
	},
	"host":     func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.host, "host", "", "smb server") },
	"share":    func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.share, "share", "", "smb share") },
	"username": func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.username, "username", "", "smb user") },
	"password-env": func(fs *flag.FlagSet, o *cliOpts) {
		fs.StringVar(&o.passwordEnv, "password-env", "", "variable holding the smb password")
	},
	"job":  func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.job, "job", "", "job id") },
	"plan": func(fs *flag.FlagSet, o *cliOpts) { fs.StringVar(&o.plan, "plan", "", "plan id") },
	"keep": func(fs *flag.FlagSet, o *cliOpts) {
		fs.StringVar(&o.keep, "keep", "oldest", "file of each group to keep")
	},
	"action": func(fs *flag.FlagSet, o *cliOpts) {
		fs.StringVar(&o.action, "action", "", "what to do with the other files: trash (default), delete or report")
	},
	"preferred-root": func(fs *flag.FlagSet, o *cliOpts) {
		fs.StringVar(&o.preferredRoot, "preferred-root", "", "keep the copy in this root when a group has one")
	},
	"preferred-prefix": func(fs *flag.FlagSet, o *cliOpts) {
		fs.StringVar(&o.preferredPrefix, "preferred-prefix", "", "keep the copy under this directory when a group has one")
	},
	"methodology": func(fs *flag.FlagSet, o *cliOpts) {
		fs.StringVar(&o.methodology, "methodology", "", "para, by_type, by_date, by_extension")
	},
}

// cliCmd is a client command: its flags, those required, its positional arguments and its run.
type cliCmd struct {
	flags, required string
	args            int
	run             func(cl *cli, o *cliOpts, args []string) (any, error)
}

func submit(t filefleet.JobType) func(*cli, *cliOpts, []string) (any, error) {
	return func(cl *cli, o *cliOpts, _ []string) (any, error) {
		return cl.job(cl.c.Jobs.Submit(cl.ctx, client.SubmitRequest{Type: t, Root: o.root, Prefix: o.prefix, Roots: split(o.roots),
			AllowEmpty: o.allowEmpty}))
	}
}

var cliCmds = map[string]cliCmd{
	"submit scan":   {"root prefix watch allow-empty", "root", 0, submit(filefleet.JobTypeScan)},
	"submit hash":   {"root prefix watch allow-empty", "root", 0, submit(filefleet.JobTypeHash)},
	"submit dedupe": {"roots watch", "roots", 0, submit(filefleet.JobTypeDedupe)},
	"jobs ls": {"status type limit", "", 0, func(cl *cli, o *cliOpts, _ []string) (any, error) {
		l, err := cl.c.Jobs.List(cl.ctx, client.ListJobsOptions{Status: filefleet.JobState(o.status), Type: filefleet.JobType(o.typ), Limit: o.limit})
		if err != nil {
			return nil, err
		}
		return l.Jobs, nil
	}},
	"jobs get":    {"", "", 1, func(cl *cli, _ *cliOpts, a []string) (any, error) { return cl.c.Jobs.Get(cl.ctx, a[0]) }},
	"jobs cancel": {"", "", 1, func(cl *cli, _ *cliOpts, a []string) (any, error) { return cl.c.Jobs.Cancel(cl.ctx, a[0]) }},
	"jobs watch":  {"", "", 1, func(cl *cli, _ *cliOpts, a []string) (any, error) { return cl.watch(a[0]) }},
	"roots ls":    {"", "", 0, func(cl *cli, _ *cliOpts, _ []string) (any, error) { return cl.c.Roots.List(cl.ctx) }},
	"roots get":   {"", "", 1, func(cl *cli, _ *cliOpts, a []string) (any, error) { return cl.c.Roots.Get(cl.ctx, a[0]) }},
	"roots rm": {"force", "", 1, func(cl *cli, o *cliOpts, a []string) (any, error) {
		del := cl.c.Roots.Delete
		if o.force {
			del = cl.c.Roots.ForceDelete
		}
		return map[string]string{"deleted": a[0]}, del(cl.ctx, a[0])
	}},
	"roots add": {"kind path prefix endpoint bucket region use-ssl access-key secret-key secret-key-env host port share username password-env domain no-verify",
		"kind", 1, func(cl *cli, o *cliOpts, a []string) (any, error) {
			spec, err := rootSpec(o, a[0])
			if err != nil {
				return nil, err
			}
			return cl.c.Roots.Create(cl.ctx, spec)
		}},
	"dedupe scan": {"roots watch", "roots", 0, func(cl *cli, o *cliOpts, _ []string) (any, error) {
		return cl.job(cl.c.Dedupe.Scan(cl.ctx, client.DedupeScanRequest{Roots: split(o.roots)}))
	}},
	"dedupe preview": {"job keep action preferred-root preferred-prefix", "job", 0, func(cl *cli, o *cliOpts, _ []string) (any, error) {
		return cl.c.Dedupe.Preview(cl.ctx, client.DedupePreviewRequest{JobID: o.job, Keep: filefleet.KeepPolicy(o.keep),
			Action: filefleet.PlanAction(o.action), PreferredRoot: o.preferredRoot, PreferredPrefix: o.preferredPrefix})
	}},
	"dedupe execute": {"plan watch", "plan", 0, func(cl *cli, o *cliOpts, _ []string) (any, error) {
		return cl.planRun(cl.c.Dedupe.Execute(cl.ctx, client.PlanRef{PlanID: o.plan}))
	}},
	"dedupe undo": {"plan watch", "plan", 0, func(cl *cli, o *cliOpts, _ []string) (any, error) {
		return cl.planRun(cl.c.Dedupe.Undo(cl.ctx, client.PlanRef{PlanID: o.plan}))
	}},
	"organize scan": {"root path methodology watch", "root methodology", 0, func(cl *cli, o *cliOpts, _ []string) (any, error) {
		return cl.job(cl.c.Organize.Scan(cl.ctx, client.OrganizeRequest{Root: o.root, Path: o.path, Methodology: o.methodology}))
	}},
	"organize execute": {"job dry-run watch", "job", 0, func(cl *cli, o *cliOpts, _ []string) (any, error) {
		return cl.planRun(cl.c.Organize.Execute(cl.ctx, client.PlanRef{JobID: o.job}, o.dryRun))
	}},
	"organize undo": {"job watch", "job", 0, func(cl *cli, o *cliOpts, _ []string) (any, error) {
		return cl.planRun(cl.c.Organize.Undo(cl.ctx, client.PlanRef{JobID: o.job}))
	}},
}

// rootSpec is the root called name that the flags of roots add describe.
func rootSpec(o *cliOpts, name string) (client.RootSpec, error) {
	spec := client.RootSpec{Name: name, Kind: filefleet.RootKind(o.kind), Path: o.path, Prefix: o.prefix,
		Endpoint: o.endpoint, Bucket: o.bucket, Region: o.region, UseSSL: o.useSSL, AccessKey: o.accessKey,
		SecretKey: o.secretKey, Host: o.host, Port: o.port, Share: o.share, Username: o.username,
		Domain: o.domain, SkipVerify: o.noVerify}
	var err error
	switch {
	case spec.SecretKey != "":
	case o.secretKeyEnv != "":
		spec.SecretKey, err = envSecret("secret-key-env", o.secretKeyEnv)
	default:
		spec.SecretKey = os.Getenv("FILEFLEET_ROOT_SECRET_KEY")
	}
	if o.passwordEnv != "" && err == nil {
		spec.Password, err = envSecret("password-env", o.passwordEnv)
	}
	return spec, err
}

// visibleSecrets are the flags whose values other users of the machine can read (ps, shell
// history), with the quiet ways to give them.
var visibleSecrets = map[string]string{
	"api-key":    "--api-key-file PATH, FILEFLEET_API_KEY or the config file",
	"secret-key": "--secret-key-env VAR or FILEFLEET_ROOT_SECRET_KEY",
}

// warnVisibleSecrets warns on cl.errw about each flag of fs given a secret.
func (cl *cli) warnVisibleSecrets(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if quiet, ok := visibleSecrets[f.Name]; ok {
			fmt.Fprintf(cl.errw, "filefleet: warning: --%s is visible to other users of this machine; use %s\n", f.Name, quiet)
		}
	})
}

// readAPIKey returns the API key in file path (surrounding space trimmed).
func readAPIKey(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--api-key-file: %w", err)
	}
	key := strings.TrimSpace(string(b))
	if key == "" {
		return "", fmt.Errorf("--api-key-file %s is empty; write the API key in it", path)
	}
	return key, nil
}

// envSecret returns the value of the variable name that flag --flagName names; unset or
// empty is an error naming it.
func envSecret(flagName, name string) (string, error) {
	if v := os.Getenv(name); v != "" {
		return v, nil
	}
	return "", usageError(fmt.Sprintf("--%s %s: $%s is unset or empty; export it with the secret, or name another variable",
		flagName, name, name))
}

// cliGroups are the first words of client commands.
var cliGroups = map[string]bool{"submit": true, "jobs": true, "roots": true, "dedupe": true, "organize": true}

// cli is one run of a client command.
type cli struct {
	ctx        context.Context
	apiURL     string
	c          *client.Client
	out, errw  io.Writer
	json       bool
	watchAfter bool // o.watch: follow the submitted job
	exit       int
}

type usageError string

func (e usageError) Error() string { return string(e) }

// runCLI runs a client command (args[0] is its group) and returns the exit code.
func runCLI(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cl := &cli{ctx: ctx, out: stdout, errw: stderr}
	v, err := cl.dispatch(args)
	if err == nil {
		err = cl.print(v)
	}
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "filefleet: %s\n%s", ue, cliUsage)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "filefleet: %s%s\n", errorText(err), cl.hint(err))
		return 1
	}
	return cl.exit
}

// errorText is err as the user should read it: the envelope's message and code, without
// the client's "filefleet: " prefix.
func errorText(err error) string {
	if ae := client.AsAPIError(err); ae != nil && ae.Code != "" {
		return fmt.Sprintf("%s (%s)", ae.Message, ae.Code)
	}
	return strings.TrimPrefix(err.Error(), "filefleet: ")
}

// hint says what to do about err when the cause is likely the CLI's settings.
func (cl *cli) hint(err error) string {
	var netErr net.Error
	switch {
	case errors.As(err, &netErr):
		return fmt.Sprintf("\nis the API running at %s? set --api-url or FILEFLEET_API_URL", cl.apiURL)
	case client.AsAPIError(err) != nil && client.AsAPIError(err).Status == http.StatusUnauthorized:
		return "\nset FILEFLEET_API_KEY or --api-key-file PATH to a valid API key"
	}
	return ""
}

func (cl *cli) dispatch(args []string) (any, error) {
	if len(args) < 2 {
		return nil, usageError(args[0] + ": missing subcommand")
	}
	name := args[0] + " " + args[1]
	cmd, ok := cliCmds[name]
	if !ok {
		return nil, usageError(fmt.Sprintf("unknown command %q", name))
	}
	// Defaults < config file < environment < flags.
	var conf struct {
		APIURL string `json:"api_url"`
		APIKey string `json:"api_key"`
	}
	if dir, err := os.UserConfigDir(); err == nil {
		if b, err := os.ReadFile(filepath.Join(dir, "filefleet", "cli.json")); err == nil {
			if err := json.Unmarshal(b, &conf); err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "filefleet", "cli.json"), err)
			}
		}
	}
	o := &cliOpts{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.apiURL, "api-url", env("FILEFLEET_API_URL", cmp.Or(conf.APIURL, client.DefaultURL)), "API URL")
	fs.StringVar(&o.apiKey, "api-key", env("FILEFLEET_API_KEY", conf.APIKey), "API key")
	fs.StringVar(&o.apiKeyFile, "api-key-file", "", "file holding the API key")
	fs.StringVar(&o.output, "output", "table", "table or json")
	for _, f := range strings.Fields(cmd.flags) {
		cliFlags[f](fs, o)
	}
	// Flags may come before or after positional arguments.
	var pos []string
	for rest := args[2:]; ; {
		if err := fs.Parse(rest); errors.Is(err, flag.ErrHelp) {
			return nil, cl.help(name, fs)
		} else if err != nil {
			return nil, usageError(fmt.Sprintf("%s (see filefleet %s -h)", err, name))
		}
		if rest = fs.Args(); len(rest) == 0 {
			break
		}
		pos, rest = append(pos, rest[0]), rest[1:]
	}
	if len(pos) != cmd.args {
		return nil, usageError(fmt.Sprintf("%s takes %d argument(s), got %d", name, cmd.args, len(pos)))
	}
	for _, r := range strings.Fields(cmd.required) {
		if fs.Lookup(r).Value.String() == "" {
			return nil, usageError(fmt.Sprintf("%s: --%s is required", name, r))
		}
	}
	if o.output != "table" && o.output != "json" {
		return nil, usageError("--output must be table or json")
	}
	cl.warnVisibleSecrets(fs)
	if o.apiKeyFile != "" {
		var err error
		if o.apiKey, err = readAPIKey(o.apiKeyFile); err != nil {
			return nil, err
		}
	}
	cl.json, cl.watchAfter = o.output == "json", o.watch
	var opts []client.Option
	if o.apiKey != "" {
		opts = append(opts, client.WithAPIKey(o.apiKey))
	}
	cl.apiURL = o.apiURL
	cl.c = client.New(o.apiURL, opts...)
	return cmd.run(cl, o, pos)
}

// help prints command name's flags on stdout.
func (cl *cli) help(name string, fs *flag.FlagSet) error {
	fmt.Fprintf(cl.out, "Usage: filefleet %s [flags]%s\nFlags:\n", name, strings.Repeat(" ARG", cliCmds[name].args))
	fs.SetOutput(cl.out)
	fs.PrintDefaults()
	return nil
}

// globalFlags are the flags of every client command, which may also come before it.
var globalFlags = map[string]bool{"api-url": true, "api-key": true, "api-key-file": true, "output": true}

// commandFirst moves global flags given before a client command after it ("--output json
// jobs ls" is "jobs ls --output json"); ok is false unless args are global flags, then a
// client command.
func commandFirst(args []string) (_ []string, ok bool) {
	i := 0
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		name, _, inline := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !globalFlags[name] {
			return nil, false
		}
		i++
		if !inline {
			i++
		}
	}
	if i == 0 || i >= len(args) || !cliGroups[args[i]] {
		return nil, false
	}
	return append(slices.Clone(args[i:]), args[:i]...), true
}

// job finishes a submission: with --watch it follows the job to its end.
func (cl *cli) job(j *filefleet.Job, err error) (any, error) {
	if err != nil || !cl.watchAfter {
		return j, err
	}
	return cl.watch(j.ID)
}

// planRun finishes an execute or undo: with --watch it follows the job started (a dry run
// starts none).
func (cl *cli) planRun(r *client.PlanRun, err error) (any, error) {
	if err != nil || !cl.watchAfter || r.Job == nil {
		return r, err
	}
	return cl.watch(r.Job.ID)
}

// watch follows job id's events, as progress bars on stderr (or JSON lines on stdout), and
// returns the final job; the exit code is 1 unless it succeeded. Canceling cl.ctx (Ctrl-C)
// stops the watch, not the job.
func (cl *cli) watch(id string) (any, error) {
	fmt.Fprintf(cl.errw, "watching job %s\n", id)
	bars := &stageBars{w: cl.errw}
	show := bars.show
	if cl.json {
		show = jsonLines(cl.out)
	}
	err := cl.c.Jobs.Watch(cl.ctx, id, 0, show)
	bars.end()
	if cl.ctx.Err() != nil {
		return nil, fmt.Errorf("job %s is still running; follow it with: filefleet jobs watch %s", id, id)
	}
	if err != nil {
		return nil, err
	}
	j, err := cl.c.Jobs.Get(cl.ctx, id)
	if err == nil && j.Status != filefleet.JobStateSucceeded {
		cl.exit = 1
	}
	if cl.json {
		return nil, err // the events were the output
	}
	return j, err
}

// jsonLines returns a function writing each event as a JSON line on w.
func jsonLines(w io.Writer) func(filefleet.Event) error {
	enc := json.NewEncoder(w)
	return func(ev filefleet.Event) error { return enc.Encode(ev) }
}

// print writes v as JSON or as a table.
func (cl *cli) print(v any) error {
	if v == nil {
		return nil
	}
	if cl.json {
		enc := json.NewEncoder(cl.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(cl.out, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	row := func(cells ...any) {
		for i, c := range cells {
			if i > 0 {
				fmt.Fprint(tw, "\t")
			}
			fmt.Fprint(tw, c)
		}
		fmt.Fprintln(tw)
	}
	jobRow := func(j *filefleet.Job) {
		row(j.ID, j.Type, j.Status, cmp.Or(j.RootName, "-"), fmt.Sprintf("%.0f%%", j.Progress.Percent()),
			j.CreatedAt.Local().Format(time.DateTime))
	}
	rootRow := func(r *filefleet.Root) { row(r.Name, r.Kind, cmp.Or(location(r), "-")) }
	switch v := v.(type) {
	case *filefleet.Job:
		row("ID", "TYPE", "STATUS", "ROOT", "PROGRESS", "CREATED")
		jobRow(v)
		if v.Error != "" {
			row("error:", v.Error)
		}
	case []filefleet.Job:
		row("ID", "TYPE", "STATUS", "ROOT", "PROGRESS", "CREATED")
		for i := range v {
			jobRow(&v[i])
		}
	case *filefleet.Root:
		row("NAME", "KIND", "LOCATION")
		rootRow(v)
	case []filefleet.Root:
		row("NAME", "KIND", "LOCATION")
		for i := range v {
			rootRow(&v[i])
		}
	case *client.DedupePreview:
		row("PLAN", "JOB", "STATUS", "GROUPS", "FILES", "BYTES", "ACTION")
		row(v.PlanID, v.JobID, v.Status, v.Summary.Groups, v.Summary.Files, v.Summary.Bytes, planAction(v))
	case *client.PlanRun:
		row("PLAN", "JOB", "STATUS")
		if v.Job != nil {
			row(v.PlanID, v.Job.ID, v.Job.Status)
		} else {
			row(cmp.Or(v.PlanID, dryRunPlanID(v)), "-", "dry run")
			for k, n := range v.Counts {
				row("", k, n)
			}
		}
	default:
		tw.Flush()
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(cl.out, string(b))
	}
	return nil
}

// location is where root r's files are: a local directory, endpoint/bucket/prefix (s3) or
// //host[:port]/share/path (smb).
func location(r *filefleet.Root) string {
	switch r.Kind {
	case filefleet.RootKindS3:
		return path.Join(r.Endpoint, r.Bucket, r.Prefix)
	case filefleet.RootKindSMB:
		host := r.Host
		if r.Port != 0 {
			host = net.JoinHostPort(r.Host, strconv.Itoa(r.Port))
		}
		return "//" + path.Join(host, r.Share, r.Path)
	}
	return r.Path
}

// planAction is what a dedupe plan does with the files it does not keep: the summary's
// action, or the default the server filled in the plan's params.
func planAction(p *client.DedupePreview) string {
	var params struct {
		Action string `json:"action"`
	}
	_ = json.Unmarshal(p.Params, &params) // no params: no action to show
	return cmp.Or(p.Summary.Action, params.Action)
}

// dryRunPlanID is the id of the plan an organize dry run shows ("" if it shows none).
func dryRunPlanID(r *client.PlanRun) string {
	if r.Plan == nil {
		return ""
	}
	return r.Plan.PlanID
}

func split(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
