// Package fanout carries change notices between the nodes of one venue that
// share a store (PostgreSQL), so that a desk connected to node 2 sees at once
// what was appended on node 1.
//
// Within one node the venue wakes its own event streams (package venue's
// hub). Across nodes, every node wraps its store with [Wrap]: each change
// that the store made durable (an append to some logs, mail for a device, a
// device registered, a channel created or changed) is published as a
// [Notice] once the store has committed it. The other nodes apply it with
// venue.(*Venue).PeerChanged: they drop what they cached and wake the event
// streams concerned, which read what is new from the store. A notice carries
// no entry data, only names and sizes; nothing is delivered from a notice,
// so a lost, late or duplicated notice can delay a delivery but never cause
// a gap or a duplicate: streams resume from their cursor in the store.
//
// # Transports
//
//   - [NATS]: notices are published on a NATS subject (core NATS, no
//     JetStream needed), one per venue. After a lost connection the node
//     treats everything as changed (PeerChange.All) as soon as it is back, so
//     subscribers catch up at once; while NATS is down, streams still catch
//     up within their heartbeat and the node falls back to polling.
//   - [Poll]: without NATS, a node reads the heads of every log, mailbox and
//     channel from the store every interval and applies the differences. It
//     works with nothing but the database, at the cost of up to one interval
//     of delay and one query per interval per node.
//
// # Wire format
//
// A notice is a JSON object, at most [MaxNotice] bytes:
//
//	{"v":1,"node":"<random node id>","logs":{"<log>":<new size>,...},
//	 "mail":["<device>",...],"devices":["<device>",...],"channels":["<id>",...]}
//
// [ParseNotice] is strict: version 1, names of 1 to 128 printable ASCII
// characters, sizes positive, at most [MaxNames] names per list.
package fanout

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/good-offices/goodoffices/venue"
)

// Limits of a notice.
const (
	MaxNotice = 1 << 20
	MaxNames  = 10000
)

// A Notice is one node's durable change.
type Notice struct {
	V        int              `json:"v"`
	Node     string           `json:"node"`
	Logs     map[string]int64 `json:"logs,omitempty"`
	Mail     []string         `json:"mail,omitempty"`
	Devices  []string         `json:"devices,omitempty"`
	Channels []string         `json:"channels,omitempty"`
}

// Change returns the notice as the venue's PeerChange.
func (n *Notice) Change() venue.PeerChange {
	return venue.PeerChange{Logs: n.Logs, Mail: n.Mail, Devices: n.Devices, Channels: n.Channels}
}

// Marshal encodes n.
func (n *Notice) Marshal() []byte {
	n.V = 1
	b, err := json.Marshal(n)
	if err != nil {
		panic("fanout: internal error: " + err.Error())
	}
	return b
}

// ParseNotice decodes and checks a notice.
func ParseNotice(b []byte) (*Notice, error) {
	if len(b) > MaxNotice {
		return nil, errors.New("notice too large")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var n Notice
	if err := dec.Decode(&n); err != nil {
		return nil, fmt.Errorf("malformed notice: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("malformed notice: trailing data")
	}
	// Canonical form: empty lists are absent.
	if len(n.Logs) == 0 {
		n.Logs = nil
	}
	if len(n.Mail) == 0 {
		n.Mail = nil
	}
	if len(n.Devices) == 0 {
		n.Devices = nil
	}
	if len(n.Channels) == 0 {
		n.Channels = nil
	}
	if n.V != 1 {
		return nil, fmt.Errorf("unsupported notice version %d", n.V)
	}
	if !validName(n.Node) {
		return nil, errors.New("malformed notice: bad node id")
	}
	if len(n.Logs) > MaxNames || len(n.Mail) > MaxNames || len(n.Devices) > MaxNames || len(n.Channels) > MaxNames {
		return nil, errors.New("malformed notice: too many names")
	}
	for l, size := range n.Logs {
		if !validName(l) || size < 1 {
			return nil, errors.New("malformed notice: bad log")
		}
	}
	for _, list := range [][]string{n.Mail, n.Devices, n.Channels} {
		for _, s := range list {
			if !validName(s) {
				return nil, errors.New("malformed notice: bad name")
			}
		}
	}
	return &n, nil
}

func validName(s string) bool {
	if len(s) < 1 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
