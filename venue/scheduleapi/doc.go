// Package scheduleapi serves the host's good-offices services of package
// schedule over HTTP: rooms, meetings, conflicts, the readiness gate and
// calendar feeds. The venue mounts it with one call, [Service.Register],
// and supplies who the caller is ([Config.Authenticate]) and where to keep
// the data ([Store]).
//
// # HTTP API
//
// Errors are JSON {"error": "..."}; a refused conflict adds "conflicts"
// (kind, reason, with) and a gated meeting not yet ready adds
// "missing_readiness". 400 bad request, 401 no credentials, 403 not
// allowed, 404 unknown, 409 conflict or wrong status, 503 storage (retry).
// Nothing is saved on error.
//
//	GET    /v1/schedule/zone                      host or desk: {"zone","offset","meetings"}
//	PUT    /v1/schedule/zone                      host   {"zone":"Europe/Paris"}: the venue's zone from now on
//	GET    /v1/schedule/rooms                     host   rooms
//	POST   /v1/schedule/rooms                     host   {"name","capacity","booths":[..],"equipment":[..]}
//	PUT    /v1/schedule/rooms/{name}              host   same, plus "override":[kinds]
//	DELETE /v1/schedule/rooms/{name}              host
//	GET    /v1/schedule/meetings[?zone=Z]         host: all; desk: its delegation's
//	POST   /v1/schedule/meetings                  host   MeetingRequest -> 201 meeting
//	POST   /v1/schedule/check                     host   MeetingRequest -> {"conflicts":[..]} (dry run)
//	GET    /v1/schedule/changes?etag=E[&wait=S]   host or desk: long poll, answers when its meetings change
//	GET    /v1/schedule/meetings/{id}[?zone=Z]    host, or a desk of an attending delegation
//	PUT    /v1/schedule/meetings/{id}             host   MeetingRequest
//	POST   /v1/schedule/meetings/{id}/move        host   {"room","start","end","override","note"}
//	POST   /v1/schedule/meetings/{id}/confirm     host   {"override","note"}
//	POST   /v1/schedule/meetings/{id}/cancel      host   {"note"}
//	POST   /v1/schedule/meetings/{id}/readiness   head's desk {"statement","signature"} (base64)
//	GET    /v1/schedule/feeds                     host: all; desk: its own
//	POST   /v1/schedule/feeds                     host: {"delegation","person","zone"}; desk: its own
//	DELETE /v1/schedule/feeds/{id}                host, or the desk that owns it
//	GET    /v1/calendar/{token}.ics               anyone holding the token
//
// Times in requests are venue wall-clock times "YYYY-MM-DDTHH:MM"; a time
// that does not exist or repeats in the venue's zone is refused. The venue's
// zone is an IANA name; changing it (PUT /v1/schedule/zone) keeps every
// meeting's instant and is stored with the schedule, so every node and
// every restart uses it.
//
// # Notifications
//
// A desk learns of every change to its delegation's meetings by long
// polling GET /v1/schedule/changes with the ETag of the list it has: the
// answer comes as soon as the list differs (a change through this node wakes
// it at once; changes through other nodes are seen within PollInterval), or
// after at most [MaxWait] with "changed": false. A desk is told nothing when
// only other delegations' meetings change, nor when another party signals
// readiness: the ETag is a digest of the desk's own view.
//
// # Readiness
//
// A head's desk signs a [schedule.Readiness] statement with its device key
// and posts it. The venue's Authenticate must return the device's
// certificate data: the statement is accepted only from a device whose
// certificate has role "head" for the delegation the statement names, and
// its signature is verified with that certified key. The host can see who is
// ready, never why; a delegation sees its own signal only.
//
// Only the host sees every party's readiness. Every answer to a desk (meeting
// lists and details, the long poll and its ETag, calendar feeds) is built
// from [schedule.Meeting.ForDelegation]: another party's signal appears in
// none of its fields (readiness records, history entries naming the party
// and its head, the "updated" time), does not change the desk's change tag,
// so its long poll is not woken, and leaves its feed byte for byte as it
// was. What a delegation learns of the gate is its own signal and the
// meeting's status: provisional, without naming who is still to signal,
// until the host confirms. The missing parties ("missing_readiness") are
// shown to the host only.
//
// # Calendar feeds
//
// A feed URL carries 256 random bits; the store keeps only a SHA-256 of the
// token, so a copy of the database does not reveal working URLs. Revoking a
// feed stops its URL at once; an unknown and a revoked token get the same
// 404. A delegate's feed lists its delegation's meetings, with times also in
// the delegate's zone. Feeds carry ETag and answer If-None-Match.
//
// # Storage and many nodes
//
// The schedule is one versioned JSON document; every change is a
// compare-and-swap on the version, so two nodes can never both book a room:
// the loser reloads and the rules run again. [SQLStore] keeps it in tables
// of its own (schedule_state, schedule_feeds), in a SQLite file
// ([OpenSQLite]) or, for many nodes, in PostgreSQL ([OpenPostgres]).
//
// # Metadata
//
// Everything here is metadata the host legitimately sees: rooms, times,
// levels, attending delegations, headcounts, interpreters, readiness. No
// content of the talks passes through this package.
package scheduleapi
