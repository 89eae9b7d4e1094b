// Package deployments_test checks the deployment files (Dockerfile, docker-compose.yml and the
// Kubernetes manifests in k8s/) against the binary they run: the environment variables it
// reads, its subcommands, its listen addresses and health endpoints, the queues it uses and
// the Go version it is built with. No Docker or Kubernetes is needed: it only reads files.
package deployments_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/filefleet/filefleet/tasks"
	"github.com/filefleet/filefleet/worker"
)

const (
	binarySource = "../cmd/filefleet" // the binary's main package, relative to this directory
	goModPath    = "../go.mod"
	dockerfile   = "Dockerfile"
	composeFile  = "docker-compose.yml"
	k8sDir       = "k8s"
	imageName    = "filefleet" // the image name the manifests use (kustomization.yaml maps it)
)

// subcommands are the binary's long-running commands (cmd/filefleet/run.go: Main).
var subcommands = map[string]bool{"api": true, "worker": true, "scheduler": true, "all": true}

// servesHTTP tells whether a subcommand runs the API (and so listens on FILEFLEET_HTTP_ADDR).
func servesHTTP(sub string) bool { return sub == "api" || sub == "all" }

// queues are every queue the binary uses (tasks/tasks.go).
var queues = []string{tasks.QueueCritical, tasks.QueueDefault, tasks.QueueLow, tasks.QueueConvert}

// pendingKey is the Redis list in which asynq keeps queue q's pending tasks:
// internal/base.PendingKey(q) = QueueKeyPrefix(q) + "pending", QueueKeyPrefix(q) = "asynq:{" + q + "}:"
// (TestAsynqPendingKey checks this against asynq's source in the module cache).
func pendingKey(q string) string { return "asynq:{" + q + "}:pending" }

var envNameRE = regexp.MustCompile(`FILEFLEET_[A-Z0-9_]+`)

// binaryEnvNames collects every FILEFLEET_* name in the binary's source (not its tests);
// names ending in "_" are prefixes (FILEFLEET_RATE_LIMIT_ + group) and left out.
func binaryEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(binarySource, "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files in %s (%v)", binarySource, err)
	}
	names := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range envNameRE.FindAllString(string(b), -1) {
			if !strings.HasSuffix(n, "_") {
				names[n] = true
			}
		}
	}
	for _, must := range []string{"FILEFLEET_HTTP_ADDR", "FILEFLEET_REDIS_URL", "FILEFLEET_SECRET_KEY"} {
		if !names[must] {
			t.Fatalf("%s not found in %s: has the binary moved?", must, binarySource)
		}
	}
	return names
}

// TestEnvNamesAreRead: every FILEFLEET_* name anywhere in the deployment files (manifests,
// compose file, Dockerfile, README; comments included) is one the binary reads.
func TestEnvNamesAreRead(t *testing.T) {
	known := binaryEnvNames(t)
	seen := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for line := 1; sc.Scan(); line++ {
			for _, n := range envNameRE.FindAllString(sc.Text(), -1) {
				seen++
				if !known[strings.TrimSuffix(n, "_")] && !strings.HasSuffix(n, "_") {
					t.Errorf("%s:%d: %s is not an environment variable the binary reads (%s)", path, line, n, binarySource)
				}
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 {
		t.Fatal("no FILEFLEET_* names found in the deployment files")
	}
}

// --- Dockerfile ---

type stage struct {
	from, name       string
	env              map[string]string
	user             string
	entrypoint, cmd  []string
	expose, runs     []string
	copies           [][]string // COPY arguments, flags included
	entrypointIsJSON bool
}

// parseDockerfile reads the instructions the tests need: FROM, ENV, USER, ENTRYPOINT, CMD,
// EXPOSE, RUN and COPY, per stage.
func parseDockerfile(t *testing.T) []*stage {
	t.Helper()
	b, err := os.ReadFile(dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var stages []*stage
	var logical []string
	cur := ""
	for _, line := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur == "") {
			continue // comments (also inside continuations) and blank lines
		}
		if strings.HasSuffix(trimmed, `\`) {
			cur += strings.TrimSuffix(trimmed, `\`) + " "
			continue
		}
		logical = append(logical, cur+trimmed)
		cur = ""
	}
	for _, l := range logical {
		if l == "" {
			continue
		}
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		instr = strings.ToUpper(instr)
		if instr == "FROM" {
			f := strings.Fields(rest)
			s := &stage{from: f[0], env: map[string]string{}}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			continue // ARG before FROM
		}
		s := stages[len(stages)-1]
		switch instr {
		case "ENV":
			f := strings.Fields(rest)
			if len(f) > 0 && !strings.Contains(f[0], "=") { // legacy ENV key value
				s.env[f[0]] = strings.Join(f[1:], " ")
				break
			}
			for _, kv := range f {
				k, v, _ := strings.Cut(kv, "=")
				s.env[k] = strings.Trim(v, `"`)
			}
		case "USER":
			s.user = rest
		case "ENTRYPOINT":
			s.entrypointIsJSON = json.Unmarshal([]byte(rest), &s.entrypoint) == nil
			if !s.entrypointIsJSON {
				s.entrypoint = []string{"/bin/sh", "-c", rest}
			}
		case "CMD":
			if json.Unmarshal([]byte(rest), &s.cmd) != nil {
				s.cmd = []string{"/bin/sh", "-c", rest}
			}
		case "EXPOSE":
			for _, p := range strings.Fields(rest) {
				s.expose = append(s.expose, strings.TrimSuffix(p, "/tcp"))
			}
		case "RUN":
			s.runs = append(s.runs, rest)
		case "COPY":
			s.copies = append(s.copies, strings.Fields(rest))
		}
	}
	if len(stages) < 2 {
		t.Fatalf("%s: want a build stage and a runtime stage, got %d stages", dockerfile, len(stages))
	}
	return stages
}

// image is what the tests need to know of the runtime image.
type image struct {
	entrypoint, cmd []string
	env             map[string]string
	uid             int
}

func runtimeImage(t *testing.T) image {
	t.Helper()
	st := parseDockerfile(t)
	final := st[len(st)-1]
	uid, err := strconv.Atoi(strings.Split(final.user, ":")[0])
	if err != nil {
		t.Fatalf("%s: final stage USER %q: want a numeric uid (Kubernetes' runAsNonRoot can only verify numbers)", dockerfile, final.user)
	}
	return image{entrypoint: final.entrypoint, cmd: final.cmd, env: final.env, uid: uid}
}

func goModVersion(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(goModPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("%s: no go line", goModPath)
	}
	return string(m[1])
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	build, final := stages[0], stages[len(stages)-1]

	// The build stage uses go.mod's Go version: golang:<version> or golang:<version>-<variant>.
	want := goModVersion(t)
	img, tag, _ := strings.Cut(build.from, ":")
	if img != "golang" || (tag != want && !strings.HasPrefix(tag, want+"-")) {
		t.Errorf("%s: build stage FROM %s: want golang:%s (go.mod's go line)", dockerfile, build.from, want)
	}
	// A static binary from ./cmd/filefleet, copied to the entrypoint's path.
	var out string
	for _, r := range build.runs {
		if m := regexp.MustCompile(`go build .*-o\s+(\S+)\s+\./cmd/filefleet\b`).FindStringSubmatch(r); m != nil {
			out = m[1]
			if !strings.Contains(r, "CGO_ENABLED=0") {
				t.Errorf("%s: the go build is not CGO_ENABLED=0 (a static binary)", dockerfile)
			}
			if !strings.Contains(r, "-X main.Version=") {
				t.Errorf("%s: the go build does not set main.Version", dockerfile)
			}
		}
	}
	if out == "" {
		t.Fatalf("%s: no `go build ... -o OUT ./cmd/filefleet` in the build stage", dockerfile)
	}
	if !final.entrypointIsJSON || len(final.entrypoint) != 1 {
		t.Fatalf("%s: ENTRYPOINT %q: want the exec (JSON) form with the binary alone, so that SIGTERM reaches it", dockerfile, final.entrypoint)
	}
	copied := false
	for _, c := range final.copies {
		if len(c) == 3 && c[0] == "--from="+build.name && c[1] == out && c[2] == final.entrypoint[0] {
			copied = true
		}
	}
	if !copied {
		t.Errorf("%s: the final stage does not COPY --from=%s %s %s", dockerfile, build.name, out, final.entrypoint[0])
	}
	if len(final.cmd) != 1 || !subcommands[final.cmd[0]] {
		t.Errorf("%s: CMD %q: want one of api, worker, scheduler, all", dockerfile, final.cmd)
	}
	// Non-root.
	im := runtimeImage(t)
	if im.uid == 0 {
		t.Errorf("%s: the final stage runs as root (USER %s)", dockerfile, final.user)
	}
	// The API listens on every interface, on an exposed port.
	if addr, ok := final.env["FILEFLEET_HTTP_ADDR"]; !ok {
		t.Errorf("%s: no ENV FILEFLEET_HTTP_ADDR (the binary's default listens on loopback only)", dockerfile)
	} else if port := listenPort(t, dockerfile, addr); !slices.Contains(final.expose, port) {
		t.Errorf("%s: FILEFLEET_HTTP_ADDR port %s is not in EXPOSE %v", dockerfile, port, final.expose)
	}
}

// listenPort returns addr's port and fails when addr is on loopback: unreachable from outside
// a container.
func listenPort(t *testing.T, where, addr string) string {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Errorf("%s: listen address %q: %v", where, addr, err)
		return ""
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		t.Errorf("%s: listen address %q is loopback: unreachable from outside the container (use 0.0.0.0)", where, addr)
	}
	return port
}

// --- YAML helpers ---

// loadYAML reads every document of a YAML file (empty documents left out).
func loadYAML(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	return docs
}

// at follows keys through nested maps; nil when one is missing.
func at(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

func mapAt(v any, keys ...string) map[string]any {
	m, _ := at(v, keys...).(map[string]any)
	return m
}

func listAt(v any, keys ...string) []any {
	l, _ := at(v, keys...).([]any)
	return l
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

func strs(v any) []string {
	var out []string
	for _, x := range listOf(v) {
		out = append(out, str(x))
	}
	return out
}

func listOf(v any) []any { l, _ := v.([]any); return l }

// TestYAMLParses: every YAML file under deployments/ parses, every document of it.
func TestYAMLParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
			n++
			if len(loadYAML(t, path)) == 0 {
				t.Errorf("%s: no YAML documents", path)
			}
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no YAML files")
	}
}

// subcommandOf checks that argv runs the image's binary with one of its subcommands, and
// returns the subcommand.
func subcommandOf(t *testing.T, where string, im image, argv []string) string {
	t.Helper()
	if len(argv) < 2 || argv[0] != im.entrypoint[0] || !subcommands[argv[1]] {
		t.Errorf("%s: runs %q: want [%s api|worker|scheduler|all]", where, argv, im.entrypoint[0])
		return ""
	}
	return argv[1]
}

// --- docker-compose.yml ---

var composeVarRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}`)

// interpolate resolves compose's ${VAR}, ${VAR:-default} and ${VAR:?message} as if no variable
// were set but the required ones.
func interpolate(s string) string {
	return composeVarRE.ReplaceAllStringFunc(s, func(m string) string {
		p := composeVarRE.FindStringSubmatch(m)
		switch {
		case strings.HasSuffix(p[2], "-"):
			return p[3]
		case strings.HasSuffix(p[2], "?"):
			return "required"
		}
		return ""
	})
}

// composeEnv is a service's environment (map or list form), interpolated.
func composeEnv(svc map[string]any) map[string]string {
	env := map[string]string{}
	switch e := at(svc, "environment").(type) {
	case map[string]any:
		for k, v := range e {
			env[k] = interpolate(str(v))
		}
	case []any:
		for _, kv := range e {
			k, v, _ := strings.Cut(str(kv), "=")
			env[k] = interpolate(v)
		}
	}
	return env
}

func composeArgv(svc map[string]any, im image) []string {
	split := func(v any) []string {
		if s, ok := v.(string); ok {
			return strings.Fields(s)
		}
		return strs(v)
	}
	argv := im.entrypoint
	cmd := im.cmd
	if e := at(svc, "entrypoint"); e != nil {
		argv, cmd = split(e), nil
	}
	if c := at(svc, "command"); c != nil {
		cmd = split(c)
	}
	return append(slices.Clone(argv), cmd...)
}

// composeContainerPorts is the container side of a service's ports and expose entries.
func composeContainerPorts(svc map[string]any) []string {
	var out []string
	for _, p := range listAt(svc, "ports") {
		if m, ok := p.(map[string]any); ok {
			out = append(out, str(m["target"]))
			continue
		}
		s := strings.TrimSuffix(str(p), "/tcp")
		out = append(out, s[strings.LastIndex(s, ":")+1:])
	}
	for _, p := range listAt(svc, "expose") {
		out = append(out, strings.TrimSuffix(str(p), "/tcp"))
	}
	return out
}

func TestCompose(t *testing.T) {
	im := runtimeImage(t)
	docs := loadYAML(t, composeFile)
	if len(docs) != 1 {
		t.Fatalf("%s: want one document, got %d", composeFile, len(docs))
	}
	services := mapAt(docs[0], "services")
	wantDockerfile, _ := filepath.Abs(dockerfile)
	ran := map[string]bool{}
	for name, v := range services {
		svc, _ := v.(map[string]any)
		where := composeFile + ": service " + name
		if at(svc, "build") == nil {
			continue // redis, postgres, ...
		}
		ctx := str(at(svc, "build", "context"))
		df := str(at(svc, "build", "dockerfile"))
		if got, _ := filepath.Abs(filepath.Join(filepath.Dir(composeFile), ctx, df)); got != wantDockerfile {
			t.Errorf("%s: builds %s (context %q, dockerfile %q): want %s", where, got, ctx, df, wantDockerfile)
		}
		if root, _ := filepath.Abs(filepath.Join(filepath.Dir(composeFile), ctx)); root != filepath.Dir(filepath.Dir(wantDockerfile)) {
			t.Errorf("%s: build context %s: want the repository root (the Dockerfile copies go.mod and ./cmd)", where, root)
		}
		sub := subcommandOf(t, where, im, composeArgv(svc, im))
		ran[sub] = true
		env := maps(im.env, composeEnv(svc))
		checkEnv(t, where, sub, env, composeContainerPorts(svc))
		if servesHTTP(sub) && len(listAt(svc, "ports")) == 0 {
			t.Errorf("%s: runs the API but publishes no port", where)
		}
		// Graceful stop: longer than the worker's drain.
		if sub == "worker" || sub == "all" {
			grace := 10 * time.Second // compose's default
			if g := str(at(svc, "stop_grace_period")); g != "" {
				d, err := time.ParseDuration(g)
				if err != nil {
					t.Errorf("%s: stop_grace_period %q: %v", where, g, err)
				}
				grace = d
			}
			if grace <= worker.ShutdownTimeoutDefault {
				t.Errorf("%s: stop_grace_period %s: a worker drains for %s on SIGTERM, want more", where, grace, worker.ShutdownTimeoutDefault)
			}
		}
		// The servers it needs are dependencies that must be healthy first.
		deps := mapAt(svc, "depends_on")
		for _, u := range []string{env["FILEFLEET_DATABASE_URL"], env["FILEFLEET_REDIS_URL"]} {
			pu, err := url.Parse(u)
			if err != nil {
				t.Errorf("%s: bad URL %q: %v", where, u, err)
				continue
			}
			host := pu.Hostname()
			dep, ok := services[host].(map[string]any)
			if !ok {
				t.Errorf("%s: %s: no service %q in the compose file", where, u, host)
				continue
			}
			if str(at(deps, host, "condition")) != "service_healthy" {
				t.Errorf("%s: does not depend on %s with condition service_healthy", where, host)
			}
			if at(dep, "healthcheck") == nil {
				t.Errorf("%s: service %s has no healthcheck (service_healthy never comes)", composeFile, host)
			}
		}
	}
	for _, sub := range []string{"api", "worker", "scheduler"} {
		if !ran["all"] && !ran[sub] {
			t.Errorf("%s: no service runs filefleet %s", composeFile, sub)
		}
	}
}

// maps merges environments, later ones winning.
func maps(envs ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, e := range envs {
		for k, v := range e {
			out[k] = v
		}
	}
	return out
}

// checkEnv checks a container's effective environment against what its subcommand needs,
// and its listen addresses against its container ports.
func checkEnv(t *testing.T, where, sub string, env map[string]string, ports []string) {
	t.Helper()
	if env["FILEFLEET_SECRET_KEY"] == "" {
		t.Errorf("%s: no FILEFLEET_SECRET_KEY (every process needs it)", where)
	}
	if servesHTTP(sub) {
		addr := env["FILEFLEET_HTTP_ADDR"]
		if addr == "" {
			t.Errorf("%s: runs the API without FILEFLEET_HTTP_ADDR (the default is loopback)", where)
		} else if p := listenPort(t, where, addr); !slices.Contains(ports, p) {
			t.Errorf("%s: the API listens on port %s (FILEFLEET_HTTP_ADDR %s), the container ports are %v", where, p, addr, ports)
		}
	}
	if addr, ok := env["FILEFLEET_METRICS_ADDR"]; ok && addr != "" {
		if servesHTTP(sub) {
			t.Errorf("%s: FILEFLEET_METRICS_ADDR is ignored by filefleet %s (the API serves /metrics)", where, sub)
		} else if p := listenPort(t, where, addr); !slices.Contains(ports, p) {
			t.Errorf("%s: metrics on port %s (FILEFLEET_METRICS_ADDR %s), the container ports are %v", where, p, addr, ports)
		}
	}
}

// --- Kubernetes ---

type k8sObject struct {
	file string
	obj  map[string]any
}

func (o k8sObject) kind() string { return str(o.obj["kind"]) }
func (o k8sObject) name() string { return str(at(o.obj, "metadata", "name")) }

// loadK8s reads every object of every YAML file in k8s/ but kustomization.yaml.
func loadK8s(t *testing.T) []k8sObject {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	var out []k8sObject
	for _, f := range files {
		if filepath.Base(f) == "kustomization.yaml" {
			continue
		}
		for _, d := range loadYAML(t, f) {
			out = append(out, k8sObject{f, d})
		}
	}
	if len(out) == 0 {
		t.Fatalf("no objects in %s", k8sDir)
	}
	return out
}

func find(objs []k8sObject, kind, name string) (k8sObject, bool) {
	for _, o := range objs {
		if o.kind() == kind && o.name() == name {
			return o, true
		}
	}
	return k8sObject{}, false
}

// configData is a ConfigMap's data or a Secret's stringData and data (keys only matter).
func configData(o k8sObject) map[string]string {
	out := map[string]string{}
	for _, key := range []string{"data", "stringData"} {
		for k, v := range mapAt(o.obj, key) {
			out[k] = str(v)
		}
	}
	return out
}

// container is a filefleet container of a Deployment, resolved.
type container struct {
	where, sub string
	spec       map[string]any
	env        map[string]string
	ports      map[string]string // name (and number) -> number
}

func (c container) portList() []string {
	var out []string
	for _, p := range c.ports {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
}

// k8sContainers resolves the filefleet containers of Deployment d: command line (Kubernetes'
// command replaces the image's ENTRYPOINT, args its CMD), environment (image ENV, then
// envFrom in order, then env) and ports.
func k8sContainers(t *testing.T, objs []k8sObject, d k8sObject, im image) []container {
	t.Helper()
	var out []container
	for _, c := range listAt(d.obj, "spec", "template", "spec", "containers") {
		spec, _ := c.(map[string]any)
		imgName := str(spec["image"])
		if base, _, _ := strings.Cut(imgName, ":"); base != imageName {
			continue
		}
		where := fmt.Sprintf("%s: Deployment %s container %s", d.file, d.name(), str(spec["name"]))
		argv, cmd := im.entrypoint, im.cmd
		if spec["command"] != nil {
			argv, cmd = strs(spec["command"]), nil
		}
		if spec["args"] != nil {
			cmd = strs(spec["args"])
		}
		sub := subcommandOf(t, where, im, append(slices.Clone(argv), cmd...))
		env := maps(im.env)
		for _, ef := range listOf(spec["envFrom"]) {
			for kind, key := range map[string]string{"ConfigMap": "configMapRef", "Secret": "secretRef"} {
				if ref := mapAt(ef, key); ref != nil {
					src, ok := find(objs, kind, str(ref["name"]))
					if !ok {
						t.Errorf("%s: envFrom %s %q is not in %s", where, kind, str(ref["name"]), k8sDir)
					}
					env = maps(env, configData(src))
				}
			}
		}
		for _, e := range listOf(spec["env"]) {
			v := str(at(e, "value"))
			if at(e, "valueFrom") != nil {
				v = "from " + str(at(e, "valueFrom"))
			}
			env[str(at(e, "name"))] = v
		}
		ports := map[string]string{}
		for _, p := range listOf(spec["ports"]) {
			n := str(at(p, "containerPort"))
			ports[n] = n
			if name := str(at(p, "name")); name != "" {
				ports[name] = n
			}
		}
		out = append(out, container{where: where, sub: sub, spec: spec, env: env, ports: ports})
	}
	if len(out) == 0 {
		t.Errorf("%s: Deployment %s has no %s container", d.file, d.name(), imageName)
	}
	return out
}

func TestKubernetes(t *testing.T) {
	im := runtimeImage(t)
	objs := loadK8s(t)
	deployments := map[string][]container{}
	ran := map[string]bool{}
	for _, d := range objs {
		if d.kind() != "Deployment" {
			continue
		}
		podSpec := mapAt(d.obj, "spec", "template", "spec")
		cs := k8sContainers(t, objs, d, im)
		deployments[d.name()] = cs
		for _, c := range cs {
			ran[c.sub] = true
			checkEnv(t, c.where, c.sub, c.env, c.portList())
			checkProbes(t, c)
			checkSecurity(t, c, podSpec, im)
			if c.sub == "worker" || c.sub == "all" {
				grace := 30 * time.Second // Kubernetes' default
				if g := at(podSpec, "terminationGracePeriodSeconds"); g != nil {
					n, _ := strconv.Atoi(str(g))
					grace = time.Duration(n) * time.Second
				}
				if grace <= worker.ShutdownTimeoutDefault {
					t.Errorf("%s: terminationGracePeriodSeconds %s: a worker drains for %s on SIGTERM, want more", c.where, grace, worker.ShutdownTimeoutDefault)
				}
			}
		}
	}
	for _, sub := range []string{"api", "worker", "scheduler"} {
		if !ran["all"] && !ran[sub] {
			t.Errorf("%s: no Deployment runs filefleet %s", k8sDir, sub)
		}
	}
	// Services reach a container port of the Deployment they select; for the API, its
	// FILEFLEET_HTTP_ADDR port.
	for _, s := range objs {
		if s.kind() != "Service" {
			continue
		}
		where := fmt.Sprintf("%s: Service %s", s.file, s.name())
		var target k8sObject
		for _, d := range objs {
			if d.kind() == "Deployment" && selects(mapAt(s.obj, "spec", "selector"), mapAt(d.obj, "spec", "template", "metadata", "labels")) {
				target = d
			}
		}
		if target.obj == nil {
			t.Errorf("%s: selects no Deployment", where)
			continue
		}
		for _, p := range listAt(s.obj, "spec", "ports") {
			tp := str(at(p, "targetPort"))
			if tp == "" {
				tp = str(at(p, "port"))
			}
			found := false
			for _, c := range deployments[target.name()] {
				if n, ok := c.ports[tp]; ok {
					found = true
					if servesHTTP(c.sub) {
						_, want, _ := net.SplitHostPort(c.env["FILEFLEET_HTTP_ADDR"])
						if n != want {
							t.Errorf("%s: targetPort %s is port %s, the API listens on %s", where, tp, n, want)
						}
					}
				}
			}
			if !found {
				t.Errorf("%s: targetPort %s is no container port of Deployment %s", where, tp, target.name())
			}
		}
	}
	checkScaledObjects(t, objs, deployments)
}

func selects(selector, labels map[string]any) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if str(labels[k]) != str(v) {
			return false
		}
	}
	return true
}

// checkProbes: the API's probes are GET /health (liveness, startup) and GET /ready (readiness)
// on its HTTP port; other processes have no HTTP server but metrics.
func checkProbes(t *testing.T, c container) {
	t.Helper()
	want := map[string][]string{"livenessProbe": {"/health"}, "readinessProbe": {"/ready"}, "startupProbe": {"/health", "/ready"}}
	for probe, paths := range want {
		p := mapAt(c.spec, probe)
		if p == nil {
			if servesHTTP(c.sub) && probe != "startupProbe" {
				t.Errorf("%s: no %s", c.where, probe)
			}
			continue
		}
		get := mapAt(p, "httpGet")
		if get == nil {
			continue // exec or tcpSocket probes: nothing to check against the binary
		}
		path, port := str(get["path"]), c.ports[str(get["port"])]
		switch {
		case servesHTTP(c.sub):
			_, httpPort, _ := net.SplitHostPort(c.env["FILEFLEET_HTTP_ADDR"])
			if !slices.Contains(paths, path) {
				t.Errorf("%s: %s GET %s: want %s", c.where, probe, path, strings.Join(paths, " or "))
			}
			if port != httpPort {
				t.Errorf("%s: %s port %v is not the API's port %s", c.where, probe, get["port"], httpPort)
			}
		default:
			_, metricsPort, _ := net.SplitHostPort(c.env["FILEFLEET_METRICS_ADDR"])
			if path != "/metrics" || port == "" || port != metricsPort {
				t.Errorf("%s: %s GET %s on port %v: filefleet %s serves only /metrics on FILEFLEET_METRICS_ADDR", c.where, probe, path, get["port"], c.sub)
			}
		}
	}
}

// checkSecurity: non-root as the image's user; a read-only root filesystem has writable
// volumes where the binary writes (the temp directory, FILEFLEET_WORK_DIR).
func checkSecurity(t *testing.T, c container, podSpec map[string]any, im image) {
	t.Helper()
	get := func(key string) any {
		if v := at(c.spec, "securityContext", key); v != nil {
			return v
		}
		return at(podSpec, "securityContext", key)
	}
	if get("runAsNonRoot") != true {
		t.Errorf("%s: runAsNonRoot is not true", c.where)
	}
	if u := get("runAsUser"); u != nil && str(u) != strconv.Itoa(im.uid) {
		t.Errorf("%s: runAsUser %v, the image's USER is %d", c.where, u, im.uid)
	}
	if at(c.spec, "securityContext", "readOnlyRootFilesystem") != true {
		return
	}
	var mounts []string
	for _, m := range listOf(c.spec["volumeMounts"]) {
		mounts = append(mounts, str(at(m, "mountPath")))
	}
	need := []string{"/tmp"}
	if d := c.env["FILEFLEET_WORK_DIR"]; d != "" && (c.sub == "worker" || c.sub == "all") { // only workers use it
		need = append(need, d)
	}
	for _, p := range need {
		if !slices.Contains(mounts, p) {
			t.Errorf("%s: read-only root filesystem but no volume at %s", c.where, p)
		}
	}
}

// checkScaledObjects: KEDA scales a worker Deployment on asynq's pending lists of the
// binary's queues, on the Redis server and database the workers use.
func checkScaledObjects(t *testing.T, objs []k8sObject, deployments map[string][]container) {
	t.Helper()
	found := false
	for _, so := range objs {
		if so.kind() != "ScaledObject" {
			continue
		}
		found = true
		where := fmt.Sprintf("%s: ScaledObject %s", so.file, so.name())
		if k := str(at(so.obj, "spec", "scaleTargetRef", "kind")); k != "" && k != "Deployment" {
			t.Errorf("%s: scaleTargetRef kind %s: want Deployment", where, k)
		}
		name := str(at(so.obj, "spec", "scaleTargetRef", "name"))
		cs, ok := deployments[name]
		if !ok || len(cs) == 0 || cs[0].sub != "worker" {
			t.Errorf("%s: scaleTargetRef %q is not a Deployment running filefleet worker", where, name)
			continue
		}
		if d, _ := find(objs, "Deployment", name); at(d.obj, "spec", "replicas") != nil {
			t.Errorf("%s: Deployment %s sets spec.replicas: every kubectl apply would reset KEDA's count", where, name)
		}
		redisURL, err := url.Parse(cs[0].env["FILEFLEET_REDIS_URL"])
		if err != nil || redisURL.Host == "" {
			t.Errorf("%s: the worker's FILEFLEET_REDIS_URL %q: %v", where, cs[0].env["FILEFLEET_REDIS_URL"], err)
			continue
		}
		wantDB := strings.TrimPrefix(redisURL.Path, "/")
		if wantDB == "" {
			wantDB = "0"
		}
		wantPort := redisURL.Port()
		if wantPort == "" {
			wantPort = "6379"
		}
		covered := map[string]bool{}
		for i, tr := range listAt(so.obj, "spec", "triggers") {
			if str(at(tr, "type")) != "redis" {
				continue
			}
			md := mapAt(tr, "metadata")
			tw := fmt.Sprintf("%s: trigger %d", where, i)
			list := str(md["listName"])
			q, ok := strings.CutPrefix(list, "asynq:{")
			q, ok2 := strings.CutSuffix(q, "}:pending")
			if !ok || !ok2 || !slices.Contains(queues, q) || list != pendingKey(q) {
				t.Errorf("%s: listName %q is not asynq's pending list of a filefleet queue (%v)", tw, list, queues)
			}
			covered[q] = true
			if n, err := strconv.Atoi(str(md["listLength"])); err != nil || n < 1 {
				t.Errorf("%s: listLength %q: want a positive number", tw, str(md["listLength"]))
			}
			// Same server (the Service's short name is the first label of the full name KEDA
			// needs) and database as the workers.
			host, port, err := net.SplitHostPort(str(md["address"]))
			if err != nil {
				t.Errorf("%s: address %q: want host:port", tw, str(md["address"]))
				continue
			}
			if strings.Split(host, ".")[0] != strings.Split(redisURL.Hostname(), ".")[0] || port != wantPort {
				t.Errorf("%s: address %s is not the workers' Redis %s", tw, str(md["address"]), redisURL.Host)
			}
			db := str(md["databaseIndex"])
			if db == "" {
				db = "0"
			}
			if db != wantDB {
				t.Errorf("%s: databaseIndex %s, the workers use database %s", tw, db, wantDB)
			}
			if (redisURL.Scheme == "rediss") != (str(md["enableTLS"]) == "true") {
				t.Errorf("%s: enableTLS %q does not match FILEFLEET_REDIS_URL's scheme %s", tw, str(md["enableTLS"]), redisURL.Scheme)
			}
		}
		for _, q := range queues {
			if !covered[q] {
				t.Errorf("%s: no redis trigger on queue %s (%s)", where, q, pendingKey(q))
			}
		}
	}
	if !found {
		t.Errorf("%s: no KEDA ScaledObject", k8sDir)
	}
}

// TestKustomization: kustomization.yaml lists every manifest in k8s/ but the examples, and
// names the image the Deployments use.
func TestKustomization(t *testing.T) {
	docs := loadYAML(t, filepath.Join(k8sDir, "kustomization.yaml"))
	if len(docs) != 1 {
		t.Fatalf("kustomization.yaml: want one document")
	}
	res := strs(docs[0]["resources"])
	files, _ := filepath.Glob(filepath.Join(k8sDir, "*.yaml"))
	for _, f := range files {
		base := filepath.Base(f)
		listed := slices.Contains(res, base)
		switch {
		case base == "kustomization.yaml":
		case strings.Contains(base, ".example."):
			if listed {
				t.Errorf("kustomization.yaml lists the example %s (placeholder values would be applied)", base)
			}
		case !listed:
			t.Errorf("kustomization.yaml does not list %s", base)
		}
	}
	for _, r := range res {
		if _, err := os.Stat(filepath.Join(k8sDir, r)); err != nil {
			t.Errorf("kustomization.yaml: resource %s: %v", r, err)
		}
	}
	named := false
	for _, i := range listOf(docs[0]["images"]) {
		named = named || str(at(i, "name")) == imageName
	}
	if !named {
		t.Errorf("kustomization.yaml: no images entry for %q (the image the Deployments run)", imageName)
	}
}

// TestAsynqPendingKey: pendingKey follows asynq's key layout, read from the asynq source in
// the module cache (internal/base cannot be imported).
func TestAsynqPendingKey(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/hibiken/asynq").Output()
	if err != nil {
		t.Skipf("go list -m github.com/hibiken/asynq: %v", err)
	}
	dir := strings.TrimSpace(string(out))
	src, err := os.ReadFile(filepath.Join(dir, "internal", "base", "base.go"))
	if err != nil {
		t.Fatalf("asynq source: %v", err)
	}
	for _, want := range []string{
		`func QueueKeyPrefix(qname string) string {` + "\n\t" + `return "asynq:{" + qname + "}:"`,
		`func PendingKey(qname string) string {` + "\n\t" + `return QueueKeyPrefix(qname) + "pending"`,
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("%s/internal/base/base.go no longer has\n%s\nrevise pendingKey and keda-scaledobject.yaml", dir, want)
		}
	}
	if got := pendingKey(tasks.QueueDefault); got != "asynq:{default}:pending" {
		t.Errorf("pendingKey(default) = %s", got)
	}
	for q := range tasks.QueuesDefault {
		if !slices.Contains(queues, q) {
			t.Errorf("tasks.QueuesDefault has queue %s that this test does not know", q)
		}
	}
}
