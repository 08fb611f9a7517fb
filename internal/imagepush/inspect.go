package imagepush

import (
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
)

// MissingError is an image to push that the local engine does not have.
type MissingError struct {
	Ref    string
	Detail string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("image %s to push is not in the local Docker engine (build or pull it first): %s", e.Ref, e.Detail)
}

// Inspect reads each ref's image ID and layers from the local engine.
func Inspect(ctx context.Context, refs []string) (map[string]Image, error) {
	imgs := map[string]Image{}
	for _, ref := range refs {
		if _, ok := imgs[ref]; ok {
			continue
		}
		cmd := exec.CommandContext(ctx, "docker", "image", "inspect", "--format", "{{json .Id}} {{json .Size}} {{json .RootFS.Layers}}", ref)
		out, err := cmd.Output()
		if err != nil {
			detail := err.Error()
			if xe, ok := err.(*exec.ExitError); ok && len(xe.Stderr) > 0 {
				detail = strings.TrimSpace(string(xe.Stderr))
			}
			return nil, &MissingError{Ref: ref, Detail: detail}
		}
		img := Image{Ref: ref}
		id, rest, _ := strings.Cut(strings.TrimSpace(string(out)), " ")
		size, layers, _ := strings.Cut(rest, " ")
		if err := json.Unmarshal([]byte(size), &img.Size); err != nil {
			return nil, fmt.Errorf("inspect local image %s: %w", ref, err)
		}
		if err := json.Unmarshal([]byte(id), &img.ID); err != nil {
			return nil, fmt.Errorf("inspect local image %s: %w", ref, err)
		}
		if err := json.Unmarshal([]byte(layers), &img.Layers); err != nil {
			return nil, fmt.Errorf("inspect local image %s: %w", ref, err)
		}
		imgs[ref] = img
	}
	return imgs, nil
}
