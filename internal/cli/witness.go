package cli

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/good-offices/goodoffices/internal/dirlock"
	"github.com/good-offices/goodoffices/tlog"
	"github.com/good-offices/goodoffices/witness"
)

func init() {
	register(&command{name: "witness", summary: "run a transparency-log witness (c2sp.org/tlog-witness) that cosigns the venue's logs", run: runWitness})
}

// witnessKeyFile holds a witness's name and Ed25519 seed.
const witnessKeyFile = "witness.key"

func runWitness(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet(env, "witness", "--log-key VKEY [--log-key VKEY ...] [flags]", `
Runs a witness: a small server that any party, or a neutral third party,
runs so that the venue cannot stand between the parties. It implements the
C2SP tlog-witness protocol (POST /add-checkpoint): it cosigns a checkpoint
of a log (c2sp.org/tlog-cosignature, Ed25519 cosignature/v1, timestamped)
only if the log's key signed it and it is consistent with the last
checkpoint of that log the witness cosigned, and it never cosigns two
inconsistent checkpoints of one log. Its state (one file per log under the
data directory) is durable before it answers; refused requests that may
prove a log's misbehaviour are kept under refused/.

--log-key names a log key it witnesses (the venue's verifier key): every
log whose origin is the key's name or starts with "<name>/" (the venue's
register, revocations and channels).

On first start it creates its key (witness.key in the data directory) and
prints its verifier key: give it, with the witness's URL, to the desks that
rely on it ('goodoffices desk witness add').

Example:
  goodoffices witness --name witness.borealia.example --log-key "$VENUE_KEY" --listen 127.0.0.1:8471`)
	listen := fs.String("listen", "127.0.0.1:8471", "`address` to listen on")
	data := fs.String("data", "witness-data", "data `directory` (key, state)")
	name := fs.String("name", "witness.local", "witness `name` for a new key (the cosigner name); ignored once the key exists")
	var keys multiFlag
	fs.Var(&keys, "log-key", "log verifier `key` to witness (repeatable)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return &UsageError{Msg: "unexpected arguments: " + fmt.Sprint(fs.Args())}
	}
	if len(keys) == 0 {
		return &UsageError{Msg: "give at least one --log-key (the venue's verifier key)"}
	}
	var logs []note.Verifier
	for _, k := range keys {
		v, err := note.NewVerifier(strings.TrimSpace(k))
		if err != nil {
			return &UsageError{Msg: "--log-key: " + err.Error()}
		}
		logs = append(logs, v)
	}
	logger := slog.New(slog.NewTextHandler(env.Stderr, nil))
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("failed to listen on %s: %w", *listen, err)
	}
	defer ln.Close()
	if err := os.MkdirAll(*data, 0o700); err != nil {
		return fmt.Errorf("failed to create the data directory: %w", err)
	}
	lock, err := dirlock.Acquire(*data, "witness.lock")
	if err != nil {
		return fmt.Errorf("another witness uses the data directory: %w", err)
	}
	defer lock.Release()
	cosigner, vkey, err := loadWitnessKey(filepath.Join(*data, witnessKeyFile), *name)
	if err != nil {
		return err
	}
	w := witness.New(cosigner, logs, witness.FileStore{Dir: *data})
	srv := &http.Server{Handler: w.Handler(logger), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	fmt.Fprintf(env.Stdout, "witness %s listening on http://%s\n", cosigner.Name(), ln.Addr())
	fmt.Fprintf(env.Stdout, "verifier key: %s\n", vkey)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("server failed: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	serr := srv.Shutdown(sctx)
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		serr = errors.Join(serr, err)
	}
	if serr != nil {
		return fmt.Errorf("failed to shut down cleanly: %w", serr)
	}
	return nil
}

// loadWitnessKey reads the witness's key file ("<name>\n<base64 seed>\n"),
// creating it with name if it does not exist.
func loadWitnessKey(path, name string) (*tlog.Cosigner, string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		seed := make([]byte, ed25519.SeedSize)
		rand.Read(seed)
		b = []byte(name + "\n" + base64.StdEncoding.EncodeToString(seed) + "\n")
		if _, err := tlog.NewCosigner(name, ed25519.NewKeyFromSeed(seed)); err != nil {
			return nil, "", &UsageError{Msg: "--name: " + err.Error()}
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, "", fmt.Errorf("failed to create the witness key: %w", err)
		}
		if _, err := f.Write(b); err != nil {
			f.Close()
			return nil, "", fmt.Errorf("failed to write the witness key: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, "", fmt.Errorf("failed to write the witness key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, "", fmt.Errorf("failed to write the witness key: %w", err)
		}
	} else if err != nil {
		return nil, "", fmt.Errorf("failed to read the witness key: %w", err)
	}
	n, s, ok := strings.Cut(strings.TrimSuffix(string(b), "\n"), "\n")
	seed, err := base64.StdEncoding.Strict().DecodeString(s)
	if !ok || err != nil || len(seed) != ed25519.SeedSize {
		return nil, "", errors.New("malformed witness key file")
	}
	key := ed25519.NewKeyFromSeed(seed)
	c, err := tlog.NewCosigner(n, key)
	if err != nil {
		return nil, "", fmt.Errorf("malformed witness key file: %w", err)
	}
	vkey, err := tlog.CosignatureVerifierKey(n, key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, "", fmt.Errorf("malformed witness key file: %w", err)
	}
	return c, vkey, nil
}
