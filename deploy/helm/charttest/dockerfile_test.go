package charttest

import (
	"bufio"
	"fmt"
	"go/version"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// repoRoot is the Kiln repository, relative to this package.
var repoRoot = filepath.Join("..", "..", "..")

// dataDir and tmpDir are the image's writable places, which the chart
// mounts volumes on.
const (
	dataDir = "/var/lib/kiln"
	tmpDir  = "/tmp"
)

// dockerfile is the parsed Dockerfile: its stages and global ARGs.
type dockerfile struct {
	stages   []instructions.Stage
	metaArgs []instructions.ArgCommand
}

// parseDockerfile parses the repository's Dockerfile with BuildKit's own
// parser and instruction reader, failing on any of BuildKit's lint
// warnings (casing, JSON arguments, secrets in ARG or ENV ...).
func parseDockerfile(t *testing.T) dockerfile {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("parsing the Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s (line %v)", w.Short, w.Location)
	}
	var warnings []string
	lint := linter.New(&linter.Config{Warn: func(rule, desc, url, msg string, loc []parser.Range) {
		warnings = append(warnings, fmt.Sprintf("%s: %s (%v)", rule, msg, loc))
	}})
	stages, metaArgs, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("reading the Dockerfile's instructions: %v", err)
	}
	for _, w := range warnings {
		t.Errorf("Dockerfile lint: %s", w)
	}
	if len(stages) < 2 {
		t.Fatalf("the Dockerfile has %d stages; want a build stage and a runtime stage", len(stages))
	}
	return dockerfile{stages: stages, metaArgs: metaArgs}
}

// env is the environment a stage sets (its own ENV instructions).
func stageEnv(s instructions.Stage) map[string]string {
	env := map[string]string{}
	for _, c := range s.Commands {
		if e, ok := c.(*instructions.EnvCommand); ok {
			for _, kv := range e.Env {
				env[kv.Key] = kv.Value
			}
		}
	}
	return env
}

func commandsOf[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func (d dockerfile) stage(t *testing.T, name string) instructions.Stage {
	t.Helper()
	for _, s := range d.stages {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("the Dockerfile has no stage %q", name)
	return instructions.Stage{}
}

func (d dockerfile) arg(name string) (string, bool) {
	for _, a := range d.metaArgs {
		for _, kv := range a.Args {
			if kv.Key == name && kv.Value != nil {
				return *kv.Value, true
			}
		}
	}
	return "", false
}

// TestDockerfileRuntimeStage checks what the image runs as and with: a
// numeric non-root user (Kubernetes' runAsNonRoot can only verify a
// numeric one) equal to the chart's, the Go toolchain from a golang stage
// with GOTOOLCHAIN=local, production settings, the volumes the chart
// mounts, kiln as the entry point, and no HEALTHCHECK (the chart's probes
// are the health checks).
func TestDockerfileRuntimeStage(t *testing.T) {
	d := parseDockerfile(t)
	final := d.stages[len(d.stages)-1]

	users := commandsOf[*instructions.UserCommand](final)
	if len(users) == 0 {
		t.Fatal("the runtime stage sets no USER: it would run as root")
	}
	user := users[len(users)-1].User
	uid, gid, _ := strings.Cut(user, ":")
	n, err := strconv.Atoi(uid)
	if err != nil || n == 0 {
		t.Fatalf("USER %q: want a numeric, non-zero uid", user)
	}
	chartVals := loadChart(t).Values
	if want := fmt.Sprint(chartVals["runAsUser"]); uid != want {
		t.Errorf("USER uid %s, but the chart runs as %s", uid, want)
	}
	if want := fmt.Sprint(chartVals["runAsGroup"]); gid != want {
		t.Errorf("USER gid %q, but the chart runs as group %s", gid, want)
	}

	env := stageEnv(final)
	for name, want := range map[string]string{
		"GOTOOLCHAIN":   "local",
		"KILN_ENV":      "production",
		"KILN_DATA_DIR": dataDir,
		"TMPDIR":        tmpDir,
	} {
		if env[name] != want {
			t.Errorf("runtime ENV %s=%q, want %q", name, env[name], want)
		}
	}
	if !slices.Contains(filepath.SplitList(env["PATH"]), "/usr/local/go/bin") {
		t.Errorf("runtime PATH %q lacks /usr/local/go/bin: kiln finds go on PATH", env["PATH"])
	}
	for _, dir := range []string{"HOME", "GOPATH"} {
		if !strings.HasPrefix(env[dir], tmpDir) && !strings.HasPrefix(env[dir], dataDir) {
			t.Errorf("runtime %s=%q is not on a writable volume (%s or %s)", dir, env[dir], dataDir, tmpDir)
		}
	}

	var volumes []string
	for _, v := range commandsOf[*instructions.VolumeCommand](final) {
		volumes = append(volumes, v.Volumes...)
	}
	for _, want := range []string{dataDir, tmpDir} {
		if !slices.Contains(volumes, want) {
			t.Errorf("runtime VOLUME %v lacks %s", volumes, want)
		}
	}

	entry := commandsOf[*instructions.EntrypointCommand](final)
	if len(entry) != 1 || entry[0].PrependShell || !slices.Equal(entry[0].CmdLine, []string{"/usr/local/bin/kiln"}) {
		t.Errorf("ENTRYPOINT: want exactly [\"/usr/local/bin/kiln\"] in exec form, got %+v", entry)
	}
	if cmd := commandsOf[*instructions.CmdCommand](final); len(cmd) != 1 || !slices.Equal(cmd[0].CmdLine, []string{"serve"}) {
		t.Errorf("CMD: want [\"serve\"], got %+v", cmd)
	}
	for _, s := range d.stages {
		if hc := commandsOf[*instructions.HealthCheckCommand](s); len(hc) > 0 {
			t.Errorf("stage %q has a HEALTHCHECK; Kubernetes probes /livez and /readyz instead", s.Name)
		}
	}

	checkToolchainCopied(t, d, final)
}

// checkToolchainCopied checks that the runtime stage copies /usr/local/go
// from a stage built on the golang image, which pins GOTOOLCHAIN=local too.
func checkToolchainCopied(t *testing.T, d dockerfile, final instructions.Stage) {
	t.Helper()
	for _, c := range commandsOf[*instructions.CopyCommand](final) {
		if c.DestPath != "/usr/local/go" || !slices.Equal(c.SourcePaths, []string{"/usr/local/go"}) {
			continue
		}
		src := d.stage(t, c.From)
		if !strings.HasPrefix(src.BaseName, "golang:") {
			t.Errorf("the toolchain comes from stage %q based on %q, not a golang image", src.Name, src.BaseName)
		}
		return
	}
	t.Error("the runtime stage does not COPY --from=<golang stage> /usr/local/go /usr/local/go: kiln build needs the go command")
}

// TestDockerfileBuildStage checks the build stage: the same pinned Go
// version the module asks for at least, GOTOOLCHAIN=local (no toolchain
// download during the build), a static binary of ./cmd/kiln.
func TestDockerfileBuildStage(t *testing.T) {
	d := parseDockerfile(t)
	build := d.stage(t, "build")
	if !strings.HasPrefix(build.BaseName, "golang:${GO_VERSION}") {
		t.Errorf("build stage base %q: want golang:${GO_VERSION}-...", build.BaseName)
	}
	goVersion, ok := d.arg("GO_VERSION")
	if !ok {
		t.Fatal("no global ARG GO_VERSION with a default")
	}
	if modGo := goModGo(t); version.Compare("go"+goVersion, "go"+modGo) < 0 {
		t.Errorf("ARG GO_VERSION=%s is older than go.mod's go %s", goVersion, modGo)
	}
	env := stageEnv(build)
	if env["GOTOOLCHAIN"] != "local" || env["CGO_ENABLED"] != "0" {
		t.Errorf("build stage ENV GOTOOLCHAIN=%q CGO_ENABLED=%q; want local and 0", env["GOTOOLCHAIN"], env["CGO_ENABLED"])
	}
	var builds bool
	for _, r := range commandsOf[*instructions.RunCommand](build) {
		line := strings.Join(r.CmdLine, " ")
		if strings.Contains(line, "go build") && strings.Contains(line, "./cmd/kiln") {
			builds = true
		}
	}
	if !builds {
		t.Error("the build stage never runs go build ... ./cmd/kiln")
	}
}

// goModGo is the go line of the main module's go.mod.
func goModGo(t *testing.T) string {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatal("go.mod has no go line")
	return ""
}

// secretName matches environment and argument names that would hold a
// secret: none may be given a value in the image.
var secretName = regexp.MustCompile(`(?i)(secret|token|passw|private|master_key|database_url|redis_url|llm_key|api_key|credential)`)

// TestDockerfileBakesNoSecret checks that no stage sets a secret in ENV
// or ARG, and that the build context leaves out everything that can hold
// one: a development data dir (its master key and operator token), key
// files, env files, the git directory.
func TestDockerfileBakesNoSecret(t *testing.T) {
	d := parseDockerfile(t)
	for _, a := range d.metaArgs {
		for _, kv := range a.Args {
			if secretName.MatchString(kv.Key) {
				t.Errorf("global ARG %s looks like a secret", kv.Key)
			}
		}
	}
	for _, s := range d.stages {
		for k := range stageEnv(s) {
			if secretName.MatchString(k) {
				t.Errorf("stage %q: ENV %s looks like a secret", s.Name, k)
			}
		}
		for _, a := range commandsOf[*instructions.ArgCommand](s) {
			for _, kv := range a.Args {
				if secretName.MatchString(kv.Key) {
					t.Errorf("stage %q: ARG %s looks like a secret", s.Name, kv.Key)
				}
			}
		}
	}

	f, err := os.Open(filepath.Join(repoRoot, ".dockerignore"))
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatal(err)
	}
	excluded := func(path string) bool {
		ok, err := pm.MatchesOrParentMatches(path)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	for _, path := range []string{
		"kiln-data/master.key", "kiln-data/operator.token", "kiln-data/library-signing.key",
		"toolkits/library/kiln-data/master.key", "signing.key", "pkg/x/tls.pem", ".env", "cmd/kiln/.env",
		".git/config",
	} {
		if !excluded(path) {
			t.Errorf(".dockerignore lets %s into the build context", path)
		}
	}
	for _, path := range []string{"go.mod", "go.sum", "cmd/kiln/main.go", "toolkits/go/go.mod", "toolkits/go/kiln/kiln.go", "schema/postgres", "pkg/web/static"} {
		if excluded(path) {
			t.Errorf(".dockerignore leaves out %s, which the build needs", path)
		}
	}
}
