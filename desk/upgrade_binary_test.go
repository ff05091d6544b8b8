package desk_test

import (
	"strings"
	"testing"
)

// TestBinaryUpgrade runs the post-quantum upgrade with the real binary: a
// channel opened on the classical suite 0x0001 by desks whose policy allows
// it, messages and negotiation there, 'desk upgrade' (refused first, before
// anything is sent, while the other party publishes no X-Wing key packages),
// more messages and negotiation in the upgraded channel; both parties' desks
// read everything and compute the same negotiation state.
func TestBinaryUpgrade(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	c := startCluster(t)
	fps := c.accreditPair("plenary", "plenary")
	c.newDesk("tomas", "arden", "Tomas Reig", "expert")
	c.newDesk("iryna", "borealia", "Iryna Holt", "expert")
	both := []string{"tomas", "iryna"}
	for _, h := range both {
		out := c.run(0, "desk", "policy", "--home", h)
		if !strings.Contains(out, "MLS_256_XWING_AES256GCM_SHA512_Ed25519") || !strings.Contains(out, "post-quantum suites") {
			t.Fatalf("default policy:\n%s", out)
		}
		// A classical suite under the post-quantum minimum is refused.
		c.run(1, "desk", "policy", "--home", h, "--suite", "classical")
		c.run(0, "desk", "policy", "--home", h, "--suite", "classical", "--min-suite", "classical")
	}
	c.run(0, "desk", "verify-party", "borealia", "--home", "tomas", "--fingerprint", fps["borealia"])
	c.run(0, "desk", "verify-party", "arden", "--home", "iryna", "--fingerprint", fps["arden"])
	c.syncAll(both...)

	// On the classical suite.
	c.run(0, "desk", "send", "plenary", "--home", "tomas", "Arden opens the plenary")
	c.syncAll(both...)
	c.run(0, "desk", "table", "plenary", "--home", "iryna", "--text", "joint-statement", "--title", "Joint Statement",
		"--para", "The Parties reaffirm their commitment to a negotiated settlement.",
		"--para", "The Parties agree to a [complete] [partial] cessation of hostilities.")
	c.syncAll(both...)
	c.run(0, "desk", "position", "plenary", "--home", "tomas", "--text", "joint-statement", "--para", "p1", "--version", "1", "--stance", "agree")
	c.syncAll(both...)
	for _, h := range both {
		if m := c.run(0, "desk", "members", "plenary", "--home", h); !strings.Contains(m, "0x0001") || !strings.Contains(m, "NOT post-quantum") {
			t.Fatalf("%s: members before the upgrade:\n%s", h, m)
		}
	}
	before := c.run(0, "desk", "talks", "plenary", "--home", "tomas", "--json")
	if out := c.run(0, "desk", "channels", "--home", "tomas"); !strings.Contains(out, "0x0001 CLASSICAL") {
		t.Errorf("desk channels before the upgrade:\n%s", out)
	}

	// Refused before sending while Borealia publishes classical key
	// packages only.
	_, stderr := c.runBoth(1, "desk", "upgrade", "plenary", "--home", "tomas", "--suite", "post-quantum")
	if !strings.Contains(stderr, "no key package of MLS_256_XWING_AES256GCM_SHA512_Ed25519") {
		t.Fatalf("refused upgrade says:\n%s", stderr)
	}
	for _, h := range both {
		c.run(0, "desk", "policy", "--home", h, "--suite", "post-quantum", "--min-suite", "post-quantum")
	}
	c.syncAll(both...)
	out := c.run(0, "desk", "upgrade", "plenary", "--home", "tomas")
	if !strings.Contains(out, "upgraded to MLS_256_XWING_AES256GCM_SHA512_Ed25519 (0x0053)") {
		t.Fatalf("desk upgrade:\n%s", out)
	}
	c.syncAll(both...)
	for _, h := range both {
		m := c.run(0, "desk", "members", "plenary", "--home", h)
		if !strings.Contains(m, "MLS_256_XWING_AES256GCM_SHA512_Ed25519 (0x0053)") || strings.Contains(m, "NOT post-quantum") ||
			!strings.Contains(m, "Tomas Reig") || !strings.Contains(m, "Iryna Holt") {
			t.Fatalf("%s: members after the upgrade:\n%s", h, m)
		}
	}
	if after := c.run(0, "desk", "talks", "plenary", "--home", "iryna", "--json"); after != before {
		t.Fatalf("the negotiation state changed with the upgrade:\n%s\n%s", before, after)
	}

	// The talks go on.
	c.run(0, "desk", "send", "plenary", "--home", "iryna", "Borealia answers on X-Wing")
	c.syncAll(both...)
	c.run(0, "desk", "position", "plenary", "--home", "iryna", "--text", "joint-statement", "--para", "p1", "--version", "1", "--stance", "agree")
	c.run(0, "desk", "rotate", "plenary", "--home", "iryna")
	c.run(0, "desk", "send", "plenary", "--home", "tomas", "Arden thanks Borealia")
	c.syncAll(both...)
	want := "Tomas Reig: Arden opens the plenary|Iryna Holt: [table_text joint-statement]|Tomas Reig: [position joint-statement ¶p1]|" +
		"Iryna Holt: Borealia answers on X-Wing|Iryna Holt: [position joint-statement ¶p1]|Tomas Reig: Arden thanks Borealia"
	for _, h := range both {
		if got := strings.Join(c.texts(h, "plenary"), "|"); got != want {
			t.Errorf("%s reads %q, want %q", h, got, want)
		}
	}
	ta := c.run(0, "desk", "talks", "plenary", "--home", "tomas", "--json")
	tb := c.run(0, "desk", "talks", "plenary", "--home", "iryna", "--json")
	if ta != tb {
		t.Fatalf("the parties compute different negotiation states after the upgrade:\n%s\n%s", ta, tb)
	}
	if ta == before || !strings.Contains(ta, "borealia") {
		t.Fatalf("the position taken after the upgrade is not in the state:\n%s", ta)
	}
	// Every entry of the log verifies and is processed on both desks.
	if out := c.run(0, "desk", "channels", "--home", "iryna"); !strings.Contains(out, "0x0053 PQ") {
		t.Errorf("desk channels after the upgrade:\n%s", out)
	}
	for _, h := range both {
		if st := c.run(0, "desk", "status", "--home", h); strings.Contains(st, "ALARM") {
			t.Fatalf("%s: status after the upgrade:\n%s", h, st)
		}
	}
}
