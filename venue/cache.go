package venue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/good-offices/goodoffices/delegation"
	"github.com/good-offices/goodoffices/venue/store"
)

// cacheTTL bounds how stale the venue's caches of devices and channels may
// be. A venue node sees its own changes at once; other nodes' after cacheTTL.
const cacheTTL = 5 * time.Second

type cachedDevice struct {
	id, delegation string
	person, role   string
	key            []byte
	notAfter       time.Time
	loaded         time.Time
}

type cachedChannel struct {
	c      store.Channel
	loaded time.Time
}

var errDeviceInvalid = errors.New("device not registered or certificate invalid")

// errDeviceRevoked is errDeviceInvalid for a device its delegation revoked.
// Only the device itself is told (it proved it holds the device key): the
// revocations log is public anyway, and nobody else learns anything.
var errDeviceRevoked = fmt.Errorf("%w: revoked", errDeviceInvalid)

// Messages of the 401 refusing a device's own request.
const (
	msgDeviceInvalid = "device not registered or its certificate is no longer valid"
	msgDeviceRevoked = "this device was revoked by its delegation (logged in /logs/revocations/): it can no longer use the venue; the head of delegation certifies a new device"
)

// deviceRefusal is the message of the 401 refusing a device's own request
// because of err from device.
func deviceRefusal(err error) string {
	if errors.Is(err, errDeviceRevoked) {
		return msgDeviceRevoked
	}
	return msgDeviceInvalid
}

// device returns a registered device whose certificate is valid now.
func (v *Venue) device(ctx context.Context, id string) (cachedDevice, error) {
	now := time.Now()
	v.cacheMu.Lock()
	d, ok := v.devices[id]
	v.cacheMu.Unlock()
	if !ok || now.Sub(d.loaded) > cacheTTL {
		sd, err := v.store.Device(ctx, id)
		if err != nil {
			return cachedDevice{}, errDeviceInvalid
		}
		rec, ok, err := v.delegationRecord(ctx, sd.Delegation)
		if err != nil || !ok {
			return cachedDevice{}, errDeviceInvalid
		}
		cert, err := delegation.VerifyCertificate(sd.Certificate, rec.RootKey, now)
		if err != nil {
			return cachedDevice{}, errDeviceInvalid
		}
		revoked, err := v.revoked(ctx, sd.Delegation, id)
		if err != nil {
			return cachedDevice{}, errDeviceInvalid
		}
		if revoked {
			return cachedDevice{}, errDeviceRevoked
		}
		d = cachedDevice{id: id, delegation: sd.Delegation, person: cert.Person, role: cert.Role, key: cert.Device, notAfter: cert.NotAfter, loaded: now}
		v.cacheMu.Lock()
		if len(v.devices) > 100000 {
			clear(v.devices)
		}
		v.devices[id] = d
		v.cacheMu.Unlock()
	}
	if !now.Before(d.notAfter) {
		return cachedDevice{}, errDeviceInvalid
	}
	return d, nil
}

func (v *Venue) forgetDevice(id string) {
	v.cacheMu.Lock()
	delete(v.devices, id)
	v.cacheMu.Unlock()
}

// channel returns a channel, cached.
func (v *Venue) channel(ctx context.Context, id string) (store.Channel, error) {
	now := time.Now()
	v.cacheMu.Lock()
	c, ok := v.channels[id]
	v.cacheMu.Unlock()
	if ok && now.Sub(c.loaded) <= cacheTTL {
		return c.c, nil
	}
	sc, err := v.store.Channel(ctx, id)
	if err != nil {
		return store.Channel{}, err
	}
	v.cacheMu.Lock()
	if len(v.channels) > 100000 {
		clear(v.channels)
	}
	v.channels[id] = cachedChannel{c: sc, loaded: now}
	v.cacheMu.Unlock()
	return sc, nil
}

func (v *Venue) forgetChannel(id string) {
	v.cacheMu.Lock()
	delete(v.channels, id)
	v.cacheMu.Unlock()
}

// channelsOf returns the channels a delegation is a member of.
func (v *Venue) channelsOf(ctx context.Context, del, device string) ([]store.Channel, error) {
	all, err := v.store.Channels(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.Channel
	for _, c := range all {
		if mayAccess(c, del, device) {
			out = append(out, c)
		}
	}
	return out, nil
}

// Interpreters' devices. A channel's stored member list holds the member
// delegations and, as "interpreter/<device ID>", the interpreters' devices
// the host lets read and write the channel's log (delegation names and
// device IDs never contain '/'). The venue lets such a device through; only
// the parties' desks admit it to the channel's group, when every party has
// consented (package negotiation, consent_interpreter).
const interpreterPrefix = "interpreter/"

// splitMembers returns the delegations and the interpreters' devices of a
// stored member list.
func splitMembers(stored []string) (delegations, interpreters []string) {
	for _, m := range stored {
		if dev, ok := strings.CutPrefix(m, interpreterPrefix); ok {
			interpreters = append(interpreters, dev)
		} else {
			delegations = append(delegations, m)
		}
	}
	return delegations, interpreters
}

// mayAccess reports whether a device of delegation del may use channel c's
// log: its delegation is a member, or the device is one of its
// interpreters.
func mayAccess(c store.Channel, del, device string) bool {
	return slices.Contains(c.Members, del) || device != "" && slices.Contains(c.Members, interpreterPrefix+device)
}
