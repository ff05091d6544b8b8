package desk

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeskDoesNotLinkTheVenueServer checks that the desk depends on the
// venue's client and wire types (venue/client, venue/api), never on the
// server (package venue or its stores and fan-out): a delegate's binary has
// no business carrying the host's server.
func TestDeskDoesNotLinkTheVenueServer(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not found")
	}
	out, err := exec.CommandContext(t.Context(), goTool, "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	const mod = "github.com/good-offices/goodoffices/"
	allowed := map[string]bool{mod + "venue/client": true, mod + "venue/api": true, mod + "venue/scheduleapi": true}
	var sawClient bool
	for _, p := range strings.Fields(string(out)) {
		if p == mod+"venue/client" {
			sawClient = true
		}
		if (p == mod+"venue" || strings.HasPrefix(p, mod+"venue/")) && !allowed[p] {
			t.Errorf("desk links the venue server package %s", p)
		}
	}
	if !sawClient {
		t.Errorf("desk does not list venue/client among its dependencies: the check looks at the wrong package")
	}
}
