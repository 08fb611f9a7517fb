package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/berth-sh/berth/internal/plan"
	"github.com/berth-sh/berth/remote"
)

// volumeSizesArgs asks Docker for every volume's size in one round trip. It
// walks all volumes, so only destroy --volumes pays for it.
var volumeSizesArgs = []string{"docker", "system", "df", "-v", "--format", "{{json .Volumes}}"}

// addVolumeSizes tells, in the plan, how much data each volume removal
// deletes ("holds 12.5MB"). Sizes only inform: without them the plan
// still stands, so a failure is a warning.
func addVolumeSizes(ctx context.Context, conn remote.Conn, p *plan.Plan) error {
	var idx []int
	for i, a := range p.Actions {
		if a.Object == plan.Volume && a.Kind == plan.Remove {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	var out bytes.Buffer
	if err := conn.Run(ctx, remote.Cmd{Args: volumeSizesArgs, Stdout: &out}); err != nil {
		return fmt.Errorf("read volume sizes: %w", err)
	}
	var vols []struct{ Name, Size string }
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &vols); err != nil {
		return fmt.Errorf("read volume sizes: %w", err)
	}
	sizes := map[string]string{}
	for _, v := range vols {
		sizes[v.Name] = v.Size
	}
	for _, i := range idx {
		if size, ok := sizes[p.Actions[i].Name]; ok {
			p.Actions[i].Reasons = append(p.Actions[i].Reasons, "holds "+size)
		}
	}
	return nil
}
