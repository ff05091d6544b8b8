package demo

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"testing"

	"github.com/good-offices/goodoffices/negotiation"
)

// BenchmarkDeskPage measures one render of the Joint Statement on
// Borealia's expert's desk, after the demo's talks and 400 more statements
// in working group 1: "cached" applies only new messages to the engine
// states kept between requests, "replay" drops them first, as every request
// did before.
//
// The cached path also skips reading a channel whose processed-entry cursor
// (desk.LogState.Next) has not moved. On the 2-core CI machine (22 Nov
// 2026): cached 4.5 ms/op, replay 22 ms/op.
//
//	go test ./web/demo -run XXX -bench DeskPage -benchtime 30x
func BenchmarkDeskPage(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d, err := Start(ctx, Config{Dir: b.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	arden := d.Delegate("arden-expert").Desk
	for i := range 400 {
		if _, err := arden.Send(ctx, "wg1-ceasefire", negotiation.NewStatement(fmt.Sprintf("Statement %d on paragraph 2.", i), "", "joint-statement", "p2")); err != nil {
			b.Fatal(err)
		}
	}
	if err := d.syncAll(ctx); err != nil {
		b.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- d.Serve(ctx) }()
	defer func() { cancel(); <-served; d.Close() }()
	ui := d.Delegate("borealia-expert").UI
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	get := func(u string) {
		resp, err := c.Get(u)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %s", u, resp.Status)
		}
	}
	get(ui.LoginURL())
	page := ui.URL() + "/texts/joint-statement"
	b.Run("cached", func(b *testing.B) {
		get(page)
		for b.Loop() {
			get(page)
		}
	})
	b.Run("replay", func(b *testing.B) {
		for b.Loop() {
			ui.ResetCache()
			get(page)
		}
	})
}
