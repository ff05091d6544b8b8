package venue_test

import (
	"context"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/good-offices/goodoffices/bench"
	"github.com/good-offices/goodoffices/venue/client"
)

// protoCounter counts the responses a transport got over HTTP/2.
type protoCounter struct {
	rt  http.RoundTripper
	h2  atomic.Int64
	all atomic.Int64
}

func (p *protoCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.rt.RoundTrip(r)
	if err == nil {
		p.all.Add(1)
		if resp.ProtoMajor == 2 {
			p.h2.Add(1)
		}
	}
	return resp, err
}

// TestH2CListener starts the real venue and appends through a client that
// speaks only HTTP/2 without TLS (client.WithH2C): every answer must come
// over HTTP/2. With --h2c=false the same client must fail, and an HTTP/1.1
// client keeps working either way.
func TestH2CListener(t *testing.T) {
	bin := buildBinary(t)
	for _, on := range []bool{true, false} {
		data := filepath.Join(t.TempDir(), "venue-data")
		var p *venueProc
		if on {
			p = startVenueProc(t, bin, data)
		} else {
			p = startVenueProc(t, bin, data, "--h2c=false")
		}
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		priv, cert := ardenPlenary(t, ctx, p.url, data)
		h1, _ := client.New(p.url, client.WithDevice(priv))
		if _, err := h1.RegisterDevice(ctx, cert); err != nil {
			t.Fatal(err)
		}
		if _, err := h1.Append(ctx, "plenary", bench.Frame([]byte("over HTTP/1.1"))); err != nil {
			t.Fatalf("h2c=%v: HTTP/1.1 append: %v", on, err)
		}

		// Take WithH2C's transport and count the protocol of its answers.
		probe, _ := client.New(p.url, client.WithH2C())
		pc := &protoCounter{rt: probe.HTTPClient().Transport}
		h2, _ := client.New(p.url, client.WithDevice(priv), client.WithHTTPClient(&http.Client{Transport: pc}))
		idx, err := h2.Append(ctx, "plenary", bench.Frame([]byte("over h2c")))
		cancel()
		if !on {
			if err == nil {
				t.Fatal("h2c client appended to a venue started with --h2c=false")
			}
			continue
		}
		if err != nil {
			t.Fatalf("h2c append: %v", err)
		}
		if idx != 1 {
			t.Fatalf("h2c append at index %d, want 1", idx)
		}
		if pc.all.Load() == 0 || pc.h2.Load() != pc.all.Load() {
			t.Fatalf("%d of %d answers over HTTP/2", pc.h2.Load(), pc.all.Load())
		}
	}
}
