// Package schedule is the host's good-offices services: the venue's rooms,
// the meetings of the talks at every level, the rules that keep them from
// colliding, the readiness gate for ministerial and leaders' meetings, and
// iCalendar feeds that delegates subscribe to.
//
// It is the one part of Good Offices whose data the host legitimately sees:
// who meets, where, when, at which level, with which interpreters and how
// many people. Never what is said.
//
// The package is a pure core: it imports only the standard library, does no
// I/O, and takes the time of every change as an argument. The venue loads a
// [Schedule] from its store (or keeps one in memory), applies an operation,
// and saves what the operation returns; an operation either succeeds whole
// or changes nothing.
//
// # Rooms and meetings
//
// A [Room] has a name, seats, interpretation booths (one per language) and
// equipment. A [Meeting] belongs to talks and optionally to a channel, has a
// [Level] (expert, senior officials, ministerial, leaders), a room, a start
// and end, interpretation languages, the attending delegations and an
// expected headcount. The host gives times as wall-clock times of the
// venue's IANA zone ([LocalTime]; [DefaultZone] is Asia/Almaty); a time that
// a daylight-saving transition skips or repeats is refused
// ([ErrNonexistentTime], [ErrAmbiguousTime]) rather than guessed.
//
// A meeting's [Status] moves draft (or provisional) → confirmed → moved /
// cancelled; each change appends a [Change] to its history and increments
// its iCalendar SEQUENCE.
//
// # Conflicts
//
// [Schedule.Propose], [Schedule.Update] and [Schedule.Confirm] refuse a
// meeting that breaks a rule, with a [ConflictError] naming each broken rule
// and why, unless the request overrides that rule's [ConflictKind]:
//
//   - room-booked: the room already holds an overlapping meeting;
//   - delegation-busy: an attending delegation is already in an overlapping
//     meeting (the host's own delegation excepted);
//   - capacity: the headcount exceeds the room's seats;
//   - no-booth: simultaneous interpretation into a language the room has no
//     booth for;
//   - outside-hours: the meeting is not within the venue's [OpeningHours] on
//     one open day.
//
// Malformed requests (an unknown room, an end before the start, a bad
// name) are [ErrInvalid] or [ErrUnknownRoom] and cannot be overridden.
//
// # Readiness gate
//
// A ministerial or leaders' meeting is proposed provisional and can be
// confirmed only when the head of every attending party has signalled
// readiness ([NotReadyError] otherwise). The signal is a [Readiness]
// statement, canonical bytes signed with Ed25519 (RFC 8032) by the head's
// device key; [Schedule.SignalReadiness] verifies it with the public key the
// venue takes from the delegation's certificate. The host learns readiness,
// never reasons. Only the host sees every party's readiness: what a
// delegation is shown is [Meeting.ForDelegation], its own signal and nothing
// of the others' (no record, no history entry, no change of the updated
// time).
//
// # Calendar feeds
//
// [RenderICS] writes an RFC 5545 VCALENDAR with a VTIMEZONE generated from
// Go's zone data (§3.6.5), one VEVENT per meeting with a stable UID
// (§3.8.4.7), SEQUENCE (§3.8.7.4) and STATUS (§3.8.1.11, CANCELLED for
// cancelled meetings), folded at 75 octets (§3.1) with escaped TEXT
// (§3.3.11). [TimesFor] and [FormatSpan] show a meeting's time in the
// venue's zone and in a delegate's own.
package schedule
