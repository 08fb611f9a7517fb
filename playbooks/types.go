// Package playbooks defines the playbook schema, parses and validates it, and
// holds the built-in catalog.
package playbooks

import "time"

// Playbook is a parsed, templated and validated stack description.
type Playbook struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"` // one line for `berth playbooks`
	Vars        map[string]string `yaml:"vars"`
	Secrets     []string          `yaml:"secrets"`
	Volumes     []Volume          `yaml:"volumes"`
	Networks    []Network         `yaml:"networks"`
	Containers  []Container       `yaml:"containers"`
	DNS         *DNS              `yaml:"dns"`
}

type Volume struct {
	Name     string `yaml:"name"`
	External bool   `yaml:"external"` // exists already; berth neither creates nor removes it
	// Backup, when set, makes backup and restore take the volume's data as a
	// dump by a command in a running container (hot), not as a tar of its files.
	Backup *VolumeBackup `yaml:"backup"`
}

// VolumeBackup is a volume's hot dump. Both commands run with docker exec
// in the container, so they see its environment, secrets included (from
// its env file): a secret never goes into these argv.
type VolumeBackup struct {
	// Container runs the commands; validation fills in the one container
	// that mounts the volume when it is left out.
	Container string   `yaml:"container"`
	Exec      []string `yaml:"exec"`    // prints the dump on stdout
	Restore   []string `yaml:"restore"` // reads a dump on stdin
}

type Network struct {
	Name     string `yaml:"name"`
	Driver   string `yaml:"driver"` // default bridge
	External bool   `yaml:"external"`
}

type Container struct {
	Name  string `yaml:"name"`
	Image string `yaml:"image"`
	// Push sends the image from the local Docker engine to each host that
	// lacks it (only the layers it lacks), instead of the host pulling it.
	Push      bool              `yaml:"push"`
	Command   []string          `yaml:"command"`
	DependsOn []string          `yaml:"depends_on"`
	Networks  []string          `yaml:"networks"`
	Ports     []string          `yaml:"ports"`   // "HOST:CONTAINER[/proto]" or "IP:HOST:CONTAINER[/proto]"
	Volumes   []string          `yaml:"volumes"` // "volume:/path[:ro]"
	Env       map[string]string `yaml:"env"`
	SecretEnv map[string]string `yaml:"secret_env"` // env name -> secret name
	Restart   string            `yaml:"restart"`
	Health    *Health           `yaml:"health"`
	Ready     *Ready            `yaml:"ready"`
}

// Health is a Docker health check; berth waits for "healthy".
type Health struct {
	Cmd      []string      `yaml:"cmd"`
	Interval time.Duration `yaml:"interval"`
	Retries  int           `yaml:"retries"`
}

// Ready is a probe berth makes itself, through the connection to the host.
type Ready struct {
	HTTP    string        `yaml:"http"` // e.g. http://127.0.0.1:80/; any status < 500 is ready
	Timeout time.Duration `yaml:"timeout"`
}

type DNS struct {
	Name string `yaml:"name"` // empty after templating: no DNS step
	Type string `yaml:"type"` // A
	TTL  int    `yaml:"ttl"`
}
