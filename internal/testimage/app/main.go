// Command app is the test stack in miniature, built into small local images
// because no registry can be reached in tests: "db" keeps key/values in files
// on a volume and guards them with a password set on first start (as MySQL
// does), "web" reaches db by container name and is published on a port.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// version comes from the image's /version file, so two builds give two
// image IDs from one compiled binary.
var version = "v1"

func main() {
	if v, err := os.ReadFile("/version"); err == nil {
		version = strings.TrimSpace(string(v))
	}
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: app db|web|health|dump|load ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "db":
		err = runDB(os.Args[2:])
	case "web":
		err = runWeb(os.Args[2:])
	case "health":
		err = health(os.Args[2:])
	case "dump":
		err = dump(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	default:
		err = fmt.Errorf("unknown mode %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

func runDB(args []string) error {
	fs := flag.NewFlagSet("db", flag.ContinueOnError)
	dir := fs.String("data", "/data", "data directory")
	listen := fs.String("listen", ":5000", "listen address")
	failHealth := fs.Bool("fail-health", false, "never report healthy")
	if err := fs.Parse(args); err != nil {
		return err
	}
	password, err := initPassword(*dir, os.Getenv("DB_PASSWORD"))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if *failHealth {
			http.Error(w, "unhealthy by request", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok", version)
	})
	mux.HandleFunc("/kv/", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Password") != password {
			http.Error(w, "access denied", http.StatusForbidden)
			return
		}
		key := filepath.Base(r.URL.Path)
		path := filepath.Join(*dir, "kv-"+key)
		switch r.Method {
		case http.MethodGet:
			b, err := os.ReadFile(path)
			if errors.Is(err, os.ErrNotExist) {
				http.NotFound(w, r)
				return
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.Write(b)
		case http.MethodPut:
			b, _ := io.ReadAll(r.Body)
			if err := writeSync(path, b); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, "stored")
		default:
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
	return http.ListenAndServe(*listen, mux)
}

// initPassword keeps the password of the first start, as MySQL's image applies
// MYSQL_PASSWORD only to an empty data directory.
func initPassword(dir, fromEnv string) (string, error) {
	path := filepath.Join(dir, ".password")
	b, err := os.ReadFile(path)
	if err == nil {
		return string(b), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if fromEnv == "" {
		return "", errors.New("DB_PASSWORD is required on first start")
	}
	return fromEnv, writeSync(path, []byte(fromEnv))
}

func writeSync(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// dump prints db's key/values as "key<TAB>hex(value)" lines, as mysqldump
// prints a database: it needs the password from its environment (never its
// argv), like a dump tool logging in with the container's secrets.
func dump(args []string) error {
	dir, err := authorized("dump", args)
	if err != nil {
		return err
	}
	paths, err := filepath.Glob(filepath.Join(dir, "kv-*"))
	if err != nil {
		return err
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		fmt.Printf("%s\t%x\n", strings.TrimPrefix(filepath.Base(p), "kv-"), b)
	}
	return nil
}

// load reads what dump printed on stdin and stores it.
func load(args []string) error {
	dir, err := authorized("load", args)
	if err != nil {
		return err
	}
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		return err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(in)), "\n") {
		key, hexValue, ok := strings.Cut(line, "\t")
		var value []byte
		if _, err := fmt.Sscanf(hexValue, "%x", &value); !ok || strings.ContainsAny(key, "/\\") || (err != nil && hexValue != "") {
			return fmt.Errorf("load: bad line %q", line)
		}
		if err := writeSync(filepath.Join(dir, "kv-"+key), value); err != nil {
			return err
		}
	}
	return nil
}

// authorized parses --data and checks DB_PASSWORD against the stored one.
func authorized(mode string, args []string) (string, error) {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	dir := fs.String("data", "/data", "data directory")
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	stored, err := os.ReadFile(filepath.Join(*dir, ".password"))
	if err != nil {
		return "", err
	}
	if os.Getenv("DB_PASSWORD") != string(stored) {
		return "", errors.New(mode + ": access denied (DB_PASSWORD)")
	}
	return *dir, nil
}

func runWeb(args []string) error {
	fs := flag.NewFlagSet("web", flag.ContinueOnError)
	listen := fs.String("listen", ":8080", "listen address")
	failHealth := fs.Bool("fail-health", os.Getenv("FAIL_HEALTH") == "yes", "never report healthy")
	if err := fs.Parse(args); err != nil {
		return err
	}
	db := "http://" + os.Getenv("DB_HOST") + ":5000"
	password := os.Getenv("DB_PASSWORD")
	client := &http.Client{Timeout: 5 * time.Second}
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if *failHealth {
			http.Error(w, "unhealthy by request", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok", version)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if *failHealth {
			http.Error(w, "unhealthy by request", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "web %s greeting=%s\n", version, os.Getenv("GREETING"))
	})
	mux.HandleFunc("/kv/", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req, err := http.NewRequestWithContext(r.Context(), r.Method, db+r.URL.Path, bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Header.Set("X-Password", password)
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, "error establishing a database connection: "+err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode == http.StatusForbidden {
			// As WordPress does when MySQL refuses its password.
			http.Error(w, "error establishing a database connection: access denied", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
	return http.ListenAndServe(*listen, mux)
}

// health is the container health check: exit 0 when url answers 200.
func health(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: app health URL")
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(args[0])
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return nil
}
