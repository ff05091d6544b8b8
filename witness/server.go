package witness

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Handler returns the witness's HTTP interface: POST /add-checkpoint
// (mount it under the submission prefix with http.StripPrefix).
func (w *Witness) Handler(log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/add-checkpoint", func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			rw.Header().Set("Allow", http.MethodPost)
			http.Error(rw, "add-checkpoint takes a POST", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, MaxRequestSize))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				http.Error(rw, "request too large", http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(rw, "failed to read the request", http.StatusBadRequest)
			return
		}
		resp, err := w.AddCheckpoint(r.Context(), body)
		if err != nil {
			log.Error("add-checkpoint failed", "err", err)
			http.Error(rw, "internal error", http.StatusInternalServerError)
			return
		}
		if resp.Status != 200 {
			log.Info("add-checkpoint refused", "status", resp.Status, "remote", r.RemoteAddr)
		}
		rw.Header().Set("Content-Type", resp.ContentType)
		rw.Header().Set("Content-Length", strconv.Itoa(len(resp.Body)))
		rw.WriteHeader(resp.Status)
		rw.Write(resp.Body)
	})
	return mux
}

// A FileStore keeps a witness's state in a directory: one file per log
// (named by the SHA-256 of its origin) holding the latest cosigned
// checkpoint note, replaced atomically (write, fsync, rename, fsync of the
// directory), and the refused requests under refused/.
type FileStore struct{ Dir string }

func (s FileStore) path(origin string) string {
	h := sha256.Sum256([]byte(origin))
	return filepath.Join(s.Dir, "logs", hex.EncodeToString(h[:])+".checkpoint")
}

// Latest implements Store.
func (s FileStore) Latest(_ context.Context, origin string) ([]byte, error) {
	b, err := os.ReadFile(s.path(origin))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Put implements Store.
func (s FileStore) Put(_ context.Context, origin string, msg []byte) error {
	return writeAtomic(s.path(origin), msg)
}

// Keep implements Store.
func (s FileStore) Keep(_ context.Context, origin string, request []byte) error {
	h := sha256.Sum256(request)
	name := fmt.Sprintf("%s-%s.request", time.Now().UTC().Format("20060102T150405Z"), hex.EncodeToString(h[:8]))
	return writeAtomic(filepath.Join(s.Dir, "refused", name), request)
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
