package docker

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/berth-sh/berth/internal/testenv"
	"github.com/berth-sh/berth/playbooks"
)

// sleeper is the test image's program: it sleeps until stopped, or exits at once with "exit" as argument.
const sleeper = `package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "exit" {
		os.Exit(3)
	}
	c := make(chan os.Signal, 1)
	signal.Notify(c, syscall.SIGTERM, syscall.SIGINT)
	<-c
}
`

// buildImage builds a FROM scratch image holding a static Go binary: no registry needed.
func buildImage(t *testing.T, tag string) {
	t.Helper()
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "main.go"), []byte(sleeper), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module sleeper\n\ngo 1.21\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY app /app\nENTRYPOINT [\"/app\"]\n"), 0o644))
	build := exec.Command("go", "build", "-o", "app", ".")
	build.Dir = dir
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=")
	run(t, build)
	docker := exec.Command("docker", "build", "-q", "-t", tag, dir)
	docker.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	run(t, docker)
	t.Cleanup(func() { _ = exec.Command("docker", "image", "rm", "-f", tag).Run() })
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func run(t *testing.T, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return string(out)
}

func runArgv(t *testing.T, argv []string) string {
	t.Helper()
	return run(t, exec.Command(argv[0], argv[1:]...))
}

func observe(t *testing.T, args []string) *Observed {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-s", "--"}, args...)...)
	cmd.Stdin = strings.NewReader(ObserveScript)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("observe script: %v\n%s", err, stderr.String())
	}
	obs, err := ParseObserved(out)
	if err != nil {
		t.Fatalf("ParseObserved: %v\noutput:\n%s", err, out)
	}
	return obs
}

func TestObserveRealDocker(t *testing.T) {
	testenv.NeedDocker(t)
	id := fmt.Sprintf("%d-%d", os.Getpid(), rand.IntN(1e6))
	stack := "berthtest-" + id
	image := "berth-test-sleeper:" + id
	buildImage(t, image)

	pb := &playbooks.Playbook{
		Name:     stack,
		Volumes:  []playbooks.Volume{{Name: stack + "-data"}, {Name: stack + "-missing-vol"}},
		Networks: []playbooks.Network{{Name: stack + "-net"}, {Name: stack + "-net2"}, {Name: stack + "-missing-net"}},
		Containers: []playbooks.Container{
			{
				Name: stack + "-app", Image: image, Networks: []string{stack + "-net", stack + "-net2"},
				Ports: []string{"127.0.0.1:" + freePort(t) + ":8080"}, Volumes: []string{stack + "-data:/data"},
				Env: map[string]string{"PLAIN": "a value; $(not run)"}, SecretEnv: map[string]string{"SECRET": "pw"},
				Restart: "unless-stopped",
			},
			{Name: stack + "-exited", Image: image, Command: []string{"exit"}},
			{Name: stack + "-missing", Image: "berth-test-no-such-image:" + id},
		},
	}
	cleanup := func(argv []string) { t.Cleanup(func() { _ = exec.Command(argv[0], argv[1:]...).Run() }) }

	runArgv(t, VolumeCreateArgs(stack, pb.Volumes[0]))
	cleanup(VolumeRemoveArgs(pb.Volumes[0].Name))
	for _, n := range pb.Networks[:2] {
		runArgv(t, NetworkCreateArgs(stack, n))
		cleanup(NetworkRemoveArgs(n.Name))
	}
	envFile := filepath.Join(t.TempDir(), "env")
	must(t, os.WriteFile(envFile, []byte("SECRET=hunter2\n"), 0o600))
	for _, c := range pb.Containers[:2] {
		argv, err := RunArgs(stack, c, envFile, nil)
		must(t, err)
		cleanup(RemoveArgs(c.Name)) // cleanups run last-in first-out: containers go before their network
		runArgv(t, argv)
	}
	runArgv(t, NetworkConnectArgs(stack+"-net2", stack+"-app"))
	// An orphan and a backup: labelled with the stack, named in no playbook.
	orphan := pb.Containers[1]
	orphan.Name = stack + "-orphan"
	argv, err := RunArgs(stack, orphan, "", nil)
	must(t, err)
	cleanup(RemoveArgs(orphan.Name))
	runArgv(t, argv)
	cleanup(RemoveArgs(playbooks.BackupName(orphan.Name)))
	runArgv(t, []string{"docker", "rename", orphan.Name, playbooks.BackupName(orphan.Name)})

	// Wait for the exiting container to be seen as exited.
	deadline := time.Now().Add(20 * time.Second)
	var obs *Observed
	for {
		obs = observe(t, ObserveArgs(stack, pb))
		if c := obs.Containers[stack+"-exited"]; c != nil && c.State == "exited" || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}

	app := obs.Containers[stack+"-app"]
	if app == nil {
		t.Fatalf("app container not observed; have %v", keys(obs.Containers))
	}
	if !app.Running || app.State != "running" || app.Image != image || !strings.HasPrefix(app.ImageID, "sha256:") {
		t.Errorf("app state: %+v", app)
	}
	want := HashBytes(encode(t, pb.Containers[0], nil))
	if app.Labels[LabelHash] != want || app.Labels[LabelStack] != stack {
		t.Errorf("labels %v, want hash %s", app.Labels, want)
	}
	if spec, err := DecodeSpec(app.Labels[LabelSpec]); err != nil || spec.SecretEnv["SECRET"] != "pw" {
		t.Errorf("spec label: %+v %v", spec, err)
	}
	if strings.Contains(fmt.Sprint(app.Labels), "hunter2") {
		t.Error("a secret value reached a label")
	}
	if strings.Join(app.Networks, ",") != stack+"-net,"+stack+"-net2" {
		t.Errorf("networks %v", app.Networks)
	}
	if len(app.Mounts) != 1 || app.Mounts[0].Name != stack+"-data" || app.Mounts[0].Destination != "/data" || app.Mounts[0].Source == "" {
		t.Errorf("mounts %+v", app.Mounts)
	}
	if len(app.Ports) != 1 || app.Ports[0].HostIP != "127.0.0.1" || app.Ports[0].ContainerPort != 8080 || app.Ports[0].HostPort == 0 {
		t.Errorf("ports %+v", app.Ports)
	}
	if ex := obs.Containers[stack+"-exited"]; ex == nil || ex.Running || ex.State != "exited" || ex.ExitCode != 3 {
		t.Errorf("exited container: %+v", ex)
	}
	if obs.Containers[playbooks.BackupName(orphan.Name)] == nil {
		t.Errorf("labelled backup not observed; have %v", keys(obs.Containers))
	}
	if obs.Containers[stack+"-missing"] != nil || len(obs.Containers) != 3 {
		t.Errorf("containers %v, want app, exited and the backup", keys(obs.Containers))
	}
	if v := obs.Volumes[stack+"-data"]; v == nil || v.Mountpoint == "" || v.Labels[LabelStack] != stack || len(obs.Volumes) != 1 {
		t.Errorf("volumes %v", obs.Volumes)
	}
	if n := obs.Networks[stack+"-net"]; n == nil || n.Driver != "bridge" || n.ID == "" || len(obs.Networks) != 2 {
		t.Errorf("networks %v", obs.Networks)
	}
	if id := obs.ImageID(image); id != app.ImageID {
		t.Errorf("image %s id %q, container runs %q", image, id, app.ImageID)
	}
	if id := obs.ImageID("berth-test-no-such-image:" + id); id != "" {
		t.Errorf("missing image has id %q", id)
	}

	// Nothing of the stack exists: every section is an empty list.
	empty := observe(t, ObserveArgs(stack+"-none", &playbooks.Playbook{
		Containers: []playbooks.Container{{Name: "berth-none-" + id, Image: "berth-none-" + id}},
		Volumes:    []playbooks.Volume{{Name: "berth-none-" + id}},
		Networks:   []playbooks.Network{{Name: "berth-none-" + id}},
	}))
	if len(empty.Containers)+len(empty.Volumes)+len(empty.Networks)+len(empty.Images) != 0 {
		t.Errorf("empty host observed %+v", empty)
	}
}

// freePort asks the kernel for a free loopback port to publish on.
func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
