package client

import (
	"bufio"
	"strings"
	"testing"
)

func FuzzReadEvent(f *testing.F) {
	f.Add("id: v1;plenary=1;~mail=0\nevent: entry\ndata: {\"log\":\"plenary\",\"index\":0,\"entry\":\"aGk=\"}\n\n")
	f.Add(": keep-alive\n\nid: v1;~mail=2\nevent: mail\ndata: {\"id\":2,\"data\":\"d2VsY29tZQ==\"}\n\n")
	f.Add("id: v1;plenary=3;~cosign/plenary=7;~mail=0\nevent: cosign\ndata: {\"log\":\"plenary\",\"size\":3,\"cosigner\":\"arden/AbC\"}\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		sub := &Subscription{r: bufio.NewReader(strings.NewReader(s))}
		for range 10 {
			if _, err := sub.read(); err != nil {
				return
			}
		}
	})
}

func TestReadEvent(t *testing.T) {
	s := ": keep-alive\n\nid: c1\nevent: entry\ndata: {\"log\":\"plenary\",\"index\":4,\"entry\":\"aGk=\"}\n\nid: c2\nevent: mail\ndata: {\"id\":2,\"data\":\"d2VsY29tZQ==\"}\n\n"
	sub := &Subscription{r: bufio.NewReader(strings.NewReader(s))}
	ev, err := sub.read()
	if err != nil || ev.Type != "entry" || ev.Log != "plenary" || ev.Index != 4 || string(ev.Entry) != "hi" || ev.Cursor != "c1" {
		t.Fatalf("%+v %v", ev, err)
	}
	ev, err = sub.read()
	if err != nil || ev.Type != "mail" || string(ev.Mail.Data) != "welcome" || ev.Cursor != "c2" {
		t.Fatalf("%+v %v", ev, err)
	}
	if _, err := sub.read(); err == nil {
		t.Fatal("read past end")
	}
}
