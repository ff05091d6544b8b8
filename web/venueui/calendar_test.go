package venueui

import (
	"testing"
	"time"

	"github.com/good-offices/goodoffices/schedule"
	"github.com/good-offices/goodoffices/venue/scheduleapi"
)

// TestWeekGridOverlaps pins the week calendar's layout: overlapping
// meetings share one cell that spans them all (none hides another), a
// meeting after them gets a cell of its own, and meetings of other weeks
// or outside the hours shown are placed as the calendar promises.
func TestWeekGridOverlaps(t *testing.T) {
	zone := time.FixedZone("+05", 5*3600)
	monday := time.Date(2026, 12, 7, 0, 0, 0, 0, zone)
	at := func(day, h, m int) time.Time { return time.Date(2026, 12, 7+day, h, m, 0, 0, zone) }
	meet := func(id string, start, end time.Time) scheduleapi.MeetingView {
		return scheduleapi.MeetingView{Meeting: schedule.Meeting{ID: id, Start: start, End: end}}
	}
	row := func(h, m int) int { return ((h-calStart)*60 + m) / slotMin }
	// Given out of order: the layout must not depend on it.
	grid := weekGrid([]scheduleapi.MeetingView{
		meet("later", at(1, 13, 0), at(1, 14, 0)),
		meet("overlap", at(1, 10, 30), at(1, 12, 0)),
		meet("first", at(1, 10, 0), at(1, 11, 0)),
		meet("inside", at(1, 11, 0), at(1, 11, 30)),
		meet("early", at(2, 6, 0), at(2, 9, 0)),
		meet("next-week", at(7, 10, 0), at(7, 11, 0)),
		meet("last-week", at(-1, 10, 0), at(-1, 11, 0)),
	}, monday, zone)
	if len(grid) != calRows {
		t.Fatalf("%d rows, want %d", len(grid), calRows)
	}
	ids := func(c *calCell) []string {
		var s []string
		for _, m := range c.Meetings {
			s = append(s, m.ID)
		}
		return s
	}
	// Tuesday: first, overlap and inside in one cell from 10:00 to 12:00.
	c := grid[row(10, 0)][1]
	if got := ids(c); len(got) != 3 || got[0] != "first" || got[1] != "overlap" || got[2] != "inside" || c.Skip {
		t.Fatalf("10:00 Tuesday holds %v (skip %v), want first, overlap, inside", got, c.Skip)
	}
	if c.Rows != 4 {
		t.Errorf("the shared cell spans %d rows, want 4 (10:00-12:00)", c.Rows)
	}
	for r := row(10, 30); r < row(12, 0); r++ {
		if !grid[r][1].Skip || len(grid[r][1].Meetings) != 0 {
			t.Errorf("row %d of Tuesday: skip %v, meetings %v; want covered by the shared cell", r, grid[r][1].Skip, ids(grid[r][1]))
		}
	}
	if grid[row(12, 0)][1].Skip {
		t.Errorf("12:00 Tuesday is covered: the shared cell runs too long")
	}
	if c := grid[row(13, 0)][1]; len(c.Meetings) != 1 || c.Meetings[0].ID != "later" || c.Rows != 2 || c.Skip {
		t.Errorf("13:00 Tuesday holds %v over %d rows, want later alone over 2", ids(c), c.Rows)
	}
	// Wednesday: a meeting before the first hour shown starts at the top
	// and runs to its end (09:00).
	if c := grid[0][2]; len(c.Meetings) != 1 || c.Meetings[0].ID != "early" || c.Rows != row(9, 0) {
		t.Errorf("top of Wednesday holds %v over %d rows, want early over %d", ids(c), c.Rows, row(9, 0))
	}
	// No other week's meeting anywhere; every meeting of the week exactly once.
	seen := map[string]int{}
	for _, r := range grid {
		for _, c := range r {
			for _, m := range c.Meetings {
				seen[m.ID]++
			}
		}
	}
	for id, want := range map[string]int{"first": 1, "overlap": 1, "inside": 1, "later": 1, "early": 1, "next-week": 0, "last-week": 0} {
		if seen[id] != want {
			t.Errorf("%s shown %d times, want %d", id, seen[id], want)
		}
	}
}
