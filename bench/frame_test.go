package bench

import (
	"bytes"
	"testing"

	"github.com/good-offices/goodoffices/mls"
)

func TestFrameIsMLS(t *testing.T) {
	for _, n := range []int{0, 1, 63, 64, 16383, 16384, 65000} {
		p := bytes.Repeat([]byte{7}, n)
		h, err := mls.ParseHeader(Frame(p))
		if err != nil {
			t.Fatalf("payload of %d bytes: %v", n, err)
		}
		if h.WireFormat != mls.WireFormatPrivateMessage || h.Kind != mls.KindApplication || string(h.GroupID) != FrameGroup || h.Epoch != 0 {
			t.Fatalf("payload of %d bytes: header %+v", n, h)
		}
		if len(Frame(p)) > n+45 {
			t.Fatalf("payload of %d bytes: framed to %d", n, len(Frame(p)))
		}
	}
}
