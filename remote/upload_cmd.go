package remote

import (
	"bytes"
	"context"
	"fmt"
	"os"
)

// uploadScript writes stdin to a temp file beside $1 with mode $2, then renames
// it over $1. It is used where SFTP cannot write as the command user (sudo).
const uploadScript = `set -e
umask 077
tmp=$(mktemp "$(dirname "$1")/.berth-upload-XXXXXX")
trap 'rm -f "$tmp"' EXIT
cat > "$tmp"
chmod "$2" "$tmp"
mv -f "$tmp" "$1"
trap - EXIT
`

func uploadViaCommand(ctx context.Context, c Conn, path string, data []byte, mode os.FileMode) error {
	args := []string{"sh", "-c", uploadScript, "berth-upload", path, fmt.Sprintf("%o", mode.Perm())}
	if err := c.Run(ctx, Cmd{Args: args, Stdin: bytes.NewReader(data)}); err != nil {
		return fmt.Errorf("upload %s: %w", path, err)
	}
	return nil
}
