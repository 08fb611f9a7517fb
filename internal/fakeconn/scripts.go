package fakeconn

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// script answers one of berth's scripts from its args, with h.mu held.
func (h *Host) script(kind Kind, args []string, out, errOut io.Writer) int {
	need := map[Kind]int{Observe: 7, Release: 2, Heartbeat: 2, Break: 1, SwapOut: 2, Rollback: 2, Wait: 2, Forget: 1}[kind]
	if len(args) < need {
		fmt.Fprintf(errOut, "fakeconn: %s wants %d args, got %q\n", kind, need, args)
		return 127
	}
	switch kind {
	case Observe:
		return h.observe(args, out)
	case Release:
		if h.lockInfo(args[0]) == args[1] {
			h.removeAll(args[0] + "/lock")
		}
		return 0
	case Heartbeat:
		f, ok := h.Files[args[0]+"/lock/info"]
		if !ok || h.lockInfo(args[0]) != args[1] {
			return 3
		}
		f.ModTime = h.now()
		return 0
	case Break:
		dir := args[0]
		if _, ok := h.Dirs[dir+"/lock"]; ok {
			fmt.Fprintf(out, "removed %d\n", h.lockAge(dir+"/lock"))
			if f, ok := h.Files[dir+"/lock/info"]; ok {
				first, _, _ := strings.Cut(string(f.Data), "\n")
				fmt.Fprintf(out, "holder %s\n", first)
			}
			h.removeAll(dir + "/lock")
		}
		if _, ok := h.Dirs[dir+"/lock.break"]; ok {
			delete(h.Dirs, dir+"/lock.break")
			fmt.Fprintln(out, "removed-break")
		}
		return 0
	case SwapOut:
		delete(h.Containers, args[1])
		if !h.rename(args[0], args[1]) {
			fmt.Fprintf(errOut, "Error response from daemon: No such container: %s\n", args[0])
			return 1
		}
		h.Containers[args[1]].Status = "exited"
		return 0
	case Rollback:
		delete(h.Containers, args[0])
		if !h.rename(args[1], args[0]) {
			fmt.Fprintf(errOut, "Error response from daemon: No such container: %s\n", args[1])
			return 1
		}
		h.start(h.Containers[args[0]])
		return 0
	case Wait:
		return h.wait(args, out)
	case Forget:
		for p := range h.Files {
			if path.Dir(p) == args[0] && (strings.HasSuffix(p, ".env") || path.Base(p) == "key") {
				delete(h.Files, p)
			}
		}
		if h.empty(args[0]) {
			delete(h.Dirs, args[0])
		}
		return 0
	}
	fmt.Fprintf(errOut, "fakeconn: no model for script %s\n", kind)
	return 127
}

// lockInfo is the lock's info as `$(cat DIR/lock/info)` reads it.
func (h *Host) lockInfo(dir string) string {
	f, ok := h.Files[dir+"/lock/info"]
	if !ok {
		return ""
	}
	return strings.TrimRight(string(f.Data), "\n")
}

// lockAge is seconds since the lock's heartbeat (its info file), else since it was made.
func (h *Host) lockAge(lock string) int {
	t := h.Dirs[lock]
	if f, ok := h.Files[lock+"/info"]; ok {
		t = f.ModTime
	}
	return int(h.now().Sub(t) / time.Second)
}

// wait runs the optional start argv, then reports at once whether the
// container is ready: the model has no time in it.
func (h *Host) wait(args []string, out io.Writer) int {
	name, secs := args[0], args[1]
	if start := args[2:]; len(start) > 0 {
		var errOut bytes.Buffer
		if h.docker(start, io.Discard, &errOut) != 0 {
			fmt.Fprint(out, errOut.String())
			return 2
		}
	}
	ct, ok := h.Containers[name]
	switch {
	case !ok:
		fmt.Fprintf(out, "container is gone: Error: No such object: %s\n", name)
		return 1
	case ct.Status == "running" && (ct.Health == "" || ct.Health == "healthy"):
		return 0
	case ct.Health == "unhealthy":
		fmt.Fprintf(out, "health check failed (%s unhealthy)\n", ct.Status)
	case ct.Status == "exited":
		fmt.Fprintf(out, "container stopped (exited %s)\n", or(ct.Health, "none"))
	default:
		fmt.Fprintf(out, "not healthy after %ss (%s %s)\n", secs, ct.Status, or(ct.Health, "none"))
	}
	return 1
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// observe is the observe prelude (state directory, lock, legacy secrets,
// key, pulls, secrets) and then docker's part, as their scripts print them.
func (h *Host) observe(args []string, out io.Writer) int {
	root, stack, mode, info, legacyFlag := args[0], args[1], args[2], args[3], args[5]
	stale, _ := strconv.Atoi(args[4])
	npull, _ := strconv.Atoi(args[6])
	args = args[7:]
	if npull > len(args) {
		npull = len(args)
	}
	pulls, args := args[:npull], args[npull:]
	take := mode == "take"
	dir, lock := root+"/"+stack, root+"/"+stack+"/lock"
	now := h.now()

	fmt.Fprintf(out, "### state\n%s\n", dir)
	ok := false
	_, present := h.Dirs[dir]
	_, rootPresent := h.Dirs[root]
	switch {
	case present && h.Denied[dir]:
		fmt.Fprintf(out, "denied %s\n", h.user())
	case present:
		fmt.Fprintln(out, "present")
		ok = true
	case !take:
		fmt.Fprintln(out, "absent")
	case h.mkdirAll(dir, now):
		fmt.Fprintln(out, "created")
		ok = true
	case rootPresent:
		fmt.Fprintf(out, "denied %s\n", h.user())
	default:
		fmt.Fprintf(out, "missing %s\n", h.user())
	}

	fmt.Fprintln(out, "### lock")
	got := false
	if take && ok {
		if _, ok := h.Dirs[dir+"/lock.break"]; ok && h.lockAge(dir+"/lock.break") > 60 {
			delete(h.Dirs, dir+"/lock.break")
		}
		_, held := h.Dirs[lock]
		_, breaking := h.Dirs[dir+"/lock.break"]
		if stale > 0 && held && !breaking && h.lockAge(lock) > stale {
			fmt.Fprintf(out, "broke %d\n", h.lockAge(lock))
			fmt.Fprintf(out, "broke-holder %s\n", h.lockInfo(dir))
			h.removeAll(lock)
		}
		if _, held := h.Dirs[lock]; !held {
			h.Dirs[lock] = now
			h.Files[lock+"/info"] = &File{Data: []byte(info + "\n"), ModTime: now}
			fmt.Fprintln(out, "acquired")
			got = true
		}
	}
	if _, held := h.Dirs[lock]; !got && held {
		fmt.Fprintf(out, "held %d\nholder %s\n", h.lockAge(lock), h.lockInfo(dir))
	}

	secrets := dir + "/secrets.env"
	if legacy := h.Home + "/.berth/" + stack + "/secrets.env"; legacyFlag == "1" && h.Home != "" && h.Files[secrets] == nil && h.Files[legacy] != nil {
		if got {
			h.Files[secrets] = &File{Data: slices.Clone(h.Files[legacy].Data), ModTime: now}
			h.Files[legacy+".migrated"] = h.Files[legacy]
			delete(h.Files, legacy)
			fmt.Fprintf(out, "### migrated\n%s\n", legacy)
		} else {
			fmt.Fprintf(out, "### legacy\n%s\n", legacy)
			secrets = legacy
		}
	}
	if f := h.Files[dir+"/key"]; got && (f == nil || len(f.Data) == 0) {
		var k [32]byte
		_, _ = rand.Read(k[:])
		h.Files[dir+"/key"] = &File{Data: []byte(hex.EncodeToString(k[:])), ModTime: now}
	}
	if len(pulls) > 0 {
		fmt.Fprintln(out, "### pull")
	}
	for _, ref := range pulls {
		if id, ok := h.Registry[ref]; ok && h.DockerErr == "" {
			h.Images[ref] = id
			fmt.Fprintf(out, "ok %s\n", ref)
		} else {
			fmt.Fprintf(out, "failed %s: Error response from daemon: pull access denied for %s\n", ref, ref)
		}
	}
	fmt.Fprintln(out, "### key")
	if f := h.Files[dir+"/key"]; f != nil {
		out.Write(f.Data) //nolint:errcheck // a bytes.Buffer
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "### secrets")
	if f := h.Files[secrets]; f != nil {
		out.Write(f.Data) //nolint:errcheck // a bytes.Buffer
	}
	h.observeDocker(args, out)
	return 0
}

// observeDocker is docker.ObserveScript: STACK CONTAINER... -- VOLUME... --
// NETWORK... -- IMAGE...
func (h *Host) observeDocker(args []string, out io.Writer) {
	switch h.DockerErr {
	case "":
	case "docker-not-found":
		fmt.Fprintf(out, "### error\n%s\n", h.DockerErr)
		return
	default:
		fmt.Fprintf(out, "### error\n%s\nfakeconn: docker refused\n", h.DockerErr)
		return
	}
	if len(args) == 0 {
		fmt.Fprintln(out, "### error\nfakeconn: no stack argument")
		return
	}
	stack := args[0]
	groups := [][]string{nil}
	for _, a := range args[1:] {
		if a == "--" {
			groups = append(groups, nil)
			continue
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], a)
	}
	for len(groups) < 4 {
		groups = append(groups, nil)
	}
	var containers []any
	seen := map[string]bool{}
	for _, name := range groups[0] {
		if ct, ok := h.Containers[name]; ok && !seen[name] {
			seen[name] = true
			containers = append(containers, ct.inspect())
		}
	}
	for _, name := range slices.Sorted(maps.Keys(h.Containers)) {
		if ct := h.Containers[name]; ct.Labels["berth.stack"] == stack && !seen[name] {
			seen[name] = true
			containers = append(containers, ct.inspect())
		}
	}
	var volumes, networks, images []any
	for _, name := range groups[1] {
		if v, ok := h.Volumes[name]; ok {
			volumes = append(volumes, map[string]any{"Name": name, "Driver": "local", "Mountpoint": "/var/lib/docker/volumes/" + name + "/_data", "Labels": v.Labels})
		}
	}
	for _, name := range groups[2] {
		if n, ok := h.Networks[name]; ok {
			networks = append(networks, map[string]any{"Name": name, "Id": n.ID, "Driver": n.Driver, "Labels": n.Labels})
		}
	}
	for _, ref := range groups[3] {
		if id, ok := h.Images[ref]; ok {
			images = append(images, map[string]any{"Id": id, "RepoTags": []string{ref}})
		}
	}
	for _, s := range []struct {
		name string
		v    []any
	}{{"containers", containers}, {"volumes", volumes}, {"networks", networks}, {"images", images}} {
		fmt.Fprintf(out, "### %s\n", s.name)
		writeJSON(out, s.v)
	}
}
