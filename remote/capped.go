package remote

import (
	"bytes"
	"fmt"
)

// MaxOutput is how much output berth collects from one command to parse
// (the observe round trip): far more than any real state, far less than a
// host printing without end can make berth hold.
const MaxOutput = 64 << 20

// OutputLimitError is output that went past a CappedBuffer's limit.
type OutputLimitError struct {
	Limit int
}

func (e *OutputLimitError) Error() string {
	size := fmt.Sprintf("%d bytes", e.Limit)
	if e.Limit%(1<<20) == 0 {
		size = fmt.Sprintf("%d MiB", e.Limit>>20)
	}
	return "output exceeds " + size + " (does the login shell or a profile script print without end?)"
}

// CappedBuffer collects output up to Max bytes. A write past Max fails with
// *OutputLimitError, which stops the command (see SSH.Run), so memory stays
// bounded whatever the host prints. The zero Max means MaxOutput.
type CappedBuffer struct {
	Max int
	buf bytes.Buffer
}

func (b *CappedBuffer) Write(p []byte) (int, error) {
	limit := b.Max
	if limit <= 0 {
		limit = MaxOutput
	}
	if b.buf.Len()+len(p) > limit {
		return 0, &OutputLimitError{Limit: limit}
	}
	return b.buf.Write(p)
}

// Bytes returns what was collected.
func (b *CappedBuffer) Bytes() []byte { return b.buf.Bytes() }

// String returns what was collected.
func (b *CappedBuffer) String() string { return b.buf.String() }
