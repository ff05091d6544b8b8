package desk

import (
	"errors"
	"path/filepath"

	xtlog "golang.org/x/mod/sumdb/tlog"

	"github.com/good-offices/goodoffices/proof"
	"github.com/good-offices/goodoffices/tlog"
)

// addProof adds a misbehaviour proof (package proof) to the evidence files
// of a fork or inconsistency alarm when what the venue served allows one:
// two signed checkpoints of one size with different roots, or a larger
// signed checkpoint whose served tiles (authenticated against its root)
// give the accepted checkpoint's size another root. The proof is written
// as ProofFile next to the evidence; 'goodoffices verify' checks it.
func (d *Desk) addProof(a *Alarm, files map[string][]byte) {
	if a.Kind != AlarmFork && a.Kind != AlarmInconsistent || d.venue == nil {
		return
	}
	if _, ok := files[ProofFile]; ok {
		return
	}
	acc, served := files["accepted.checkpoint"], files["served.checkpoint"]
	if acc == nil || served == nil {
		return
	}
	ac, err1 := tlog.ParseCheckpoint(checkpointBody(acc))
	sc, err2 := tlog.ParseCheckpoint(checkpointBody(served))
	if err1 != nil || err2 != nil {
		return
	}
	var p *proof.Proof
	var err error
	switch {
	case ac.Size == sc.Size:
		p, err = proof.NewSplitView(d.venue.VerifierKey, acc, served)
	case ac.Size < sc.Size:
		hr := xtlog.TileHashReader(sc.Tree(), evidenceTiles(files))
		p, err = proof.NewInconsistent(d.venue.VerifierKey, acc, served, hr)
	default:
		return
	}
	if err != nil {
		d.log.Warn("no misbehaviour proof from this evidence", "log", a.Log, "err", err)
		return
	}
	files[ProofFile] = p.Marshal()
	a.Detail += "; proof of misbehaviour exported as " + ProofFile
}

// evidenceTiles reads the tiles the venue served, as recorded in evidence.
type evidenceTiles map[string][]byte

func (e evidenceTiles) Height() int { return tlog.TileHeight }

func (e evidenceTiles) ReadTiles(tiles []xtlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, ok := e[filepath.Join("served", filepath.FromSlash(tlog.TilePath(t)))]
		if !ok || len(b) != t.W*xtlog.HashSize {
			return nil, errors.New("tile not in the evidence")
		}
		out[i] = b
	}
	return out, nil
}

func (e evidenceTiles) SaveTiles([]xtlog.Tile, [][]byte) {}
