package i18n

import "fmt"

// labels name the values of the project's enumerations (levels, kinds,
// statuses, alarms …) in English, by domain; Label translates them.
var labels = map[string]map[string]string{
	"level": {
		"expert":           N("expert level"),
		"senior-officials": N("senior officials' level"),
		"ministerial":      N("ministerial level"),
		"leaders":          N("leaders' level"),
	},
	"scope": {
		"text": N("text"),
		"item": N("agenda item"),
	},
	"change": {
		"added":     N("added|paragraph"),
		"removed":   N("removed|paragraph"),
		"changed":   N("changed|paragraph"),
		"moved":     N("moved|paragraph"),
		"unchanged": N("unchanged|paragraph"),
	},
	// Why a party blocks a paragraph (negotiation.Block.Reason).
	"block": {
		"no position": N("no position"),
		"object":      N("objection|block"),
		"reserve":     N("reservation|block"),
		"brackets":    N("open brackets|block"),
	},
	"result": {
		"applied":   N("applied"),
		"rejected":  N("refused by the rules of the talks"),
		"malformed": N("malformed"),
		"unknown":   N("unknown to this desk's version"),
	},
	// Log entries that are not application messages (desk.Message.Kind).
	"entry": {
		"commit":   N("change of the group"),
		"proposal": N("proposed change of the group"),
		"skipped":  N("skipped"),
		"rejected": N("rejected"),
	},
	// Kinds of messages the desk's search filters on (desk.SearchKinds).
	"search": {
		"statement": N("statement"),
		"text":      N("negotiating text"),
		"proposal":  N("proposal"),
		"position":  N("position"),
		"event":     N("other negotiation event"),
		"message":   N("message"),
	},
	// Common roles in a delegation (a device certificate's role is free
	// text; others show as written).
	"role": {
		"head":        N("head of delegation"),
		"deputy":      N("deputy head"),
		"expert":      N("expert"),
		"adviser":     N("adviser"),
		"interpreter": N("interpreter"),
	},
	// A language version's paragraph (negotiation.ConcordanceStatus).
	"concordance": {
		"missing":    N("missing"),
		"stale":      N("out of date"),
		"pending":    N("pending|concordance"),
		"concordant": N("concordant"),
	},
	"kind": {
		"plenary":             N("plenary"),
		"working-group":       N("working group"),
		"bilateral":           N("bilateral"),
		"delegation-internal": N("internal to a delegation"),
		"logistics":           N("logistics"),
	},
	"stance": {
		"agree":               N("agree"),
		"agree_ad_referendum": N("agree ad referendum"),
		"reserve":             N("reserve"),
		"object":              N("object"),
	},
	"status": {
		"agreed":               N("agreed"),
		"agreed_ad_referendum": N("agreed ad ref."),
		"reserved":             N("reserved"),
		"objected":             N("objected"),
		"bracketed":            N("bracketed"),
		"open":                 N("open"),
		"empty":                N("empty"),
		"negotiating":          N("negotiating"),
		"adopting":             N("adopting"),
		"referred":             N("referred"),
		"adopted":              N("adopted"),
		"withdrawn":            N("withdrawn"),
		"accepted":             N("accepted"),
		"declined":             N("declined"),
	},
	"meeting": {
		"draft":       N("draft|meeting"),
		"provisional": N("provisional|meeting"),
		"confirmed":   N("confirmed|meeting"),
		"moved":       N("moved|meeting"),
		"cancelled":   N("cancelled|meeting"),
	},
	"op": {
		"replace":         N("replace the paragraph's wording"),
		"insert":          N("insert wording"),
		"delete":          N("delete wording"),
		"add_alternative": N("add an alternative"),
		"remove_brackets": N("remove the brackets"),
		"add_paragraph":   N("add a paragraph"),
		"move_paragraph":  N("move the paragraph"),
	},
	"response": {
		"accept":               N("accepts"),
		"accept_ad_referendum": N("accepts ad referendum"),
		"decline":              N("declines"),
	},
	"interpretation": {
		"simultaneous": N("simultaneous"),
		"consecutive":  N("consecutive"),
	},
	"conflict": {
		"room-booked":     N("room booked"),
		"delegation-busy": N("delegation busy"),
		"capacity":        N("room too small"),
		"no-booth":        N("no interpretation booth"),
	},
	// What a desk's alarm means: its name …
	"alarm": {
		"fork":             N("fork: two different histories"),
		"rollback":         N("rollback: entries taken back"),
		"inconsistent":     N("rewritten history"),
		"inclusion":        N("substituted entry"),
		"bad-signature":    N("forged or malformed checkpoint"),
		"malformed-entry":  N("malformed entry"),
		"member":           N("member not certified by a confirmed delegation"),
		"venue-key":        N("the venue's key changed"),
		"withholding":      N("confirmation withheld"),
		"freeze":           N("frozen view"),
		"replay":           N("replayed message"),
		"membership":       N("membership changed by the venue"),
		"key-package":      N("substituted key package"),
		"handover":         N("lying hand-over"),
		"recovery":         N("refused recovery notice"),
		"interpreter":      N("interpreter without every party's consent"),
		"stale-view":       N("acknowledged entry left out of the checkpoints"),
		"eclipse":          N("older view than the witnesses'"),
		"witness-conflict": N("a witness saw another history"),
	},
	// … and, in one sentence, exactly what the venue did.
	"alarm-explain": {
		"fork":             N("The venue signed two different versions of this log of the same size: it is showing different histories to different parties. The two signed checkpoints are the proof."),
		"rollback":         N("The venue served a checkpoint smaller than one it had already signed: it tried to take back entries your desk had verified."),
		"inconsistent":     N("The venue served a larger checkpoint that does not extend the one your desk had accepted: entries already verified were changed or removed."),
		"inclusion":        N("The venue served an entry that is not the one its own signed checkpoint commits to: the entry was substituted."),
		"bad-signature":    N("The venue served a checkpoint that is not signed by the venue key pinned when your desk enrolled, or that is malformed."),
		"malformed-entry":  N("A correctly logged entry is not something this log may hold; your desk refused to process it."),
		"member":           N("The channel's group contains a member whose certificate does not chain to a delegation root key you confirmed: someone may have been added without the parties."),
		"venue-key":        N("The venue now presents a signing key other than the one pinned when your desk enrolled."),
		"withholding":      N("An entry stayed without the cosignatures of every party longer than allowed: the venue may be withholding it, or the parties' cosignatures, from someone."),
		"freeze":           N("Other parties have cosigned a longer log than the venue serves your desk: the venue may be hiding newer entries from you."),
		"replay":           N("The venue delivered again a message whose key had already been used; your desk rejected the copy."),
		"membership":       N("The venue's member list of this channel leaves out a delegation that is in the channel's encrypted group: only the parties decide who is in. Your desk still waits for that delegation's cosignature before it counts an entry as confirmed."),
		"key-package":      N("Asked for the key package of a party's device, the venue answered with one that is not that device's. Your desk refused it and did not change the channel's group, so that no party is left out unseen."),
		"handover":         N("A hand-over of history from your delegation carried keys that do not open the messages in the log, or named entries the log does not hold. Your desk used nothing of it."),
		"recovery":         N("A recovery notice in this channel was refused: its checkpoint of the old channel is not the venue's or does not agree with what your desk verified there, or it would move the talks among other parties, into talks already under way, or in a loop. The talks of the old channel do not continue here."),
		"interpreter":      N("The channel's encrypted group holds an interpreter's device to which not every party has consented: your desk sends nothing there until it is removed."),
		"stale-view":       N("The venue acknowledged an entry of yours at a position that no checkpoint it served covered in time: it may be keeping that entry out of the log everyone sees."),
		"eclipse":          N("A witness your delegation relies on has cosigned a longer log than the venue serves your desk: the venue may be showing you an old view and hiding newer entries."),
		"witness-conflict": N("A witness your delegation relies on has cosigned a version of this log that does not agree with the one your desk verified: the venue is showing different histories."),
	},
}

// Label returns the translated name of value in domain (see labels), or
// value itself if it has none.
func (l *Locale) Label(domain string, value any) string {
	v := fmt.Sprint(value)
	if k, ok := labels[domain][v]; ok {
		return l.T(k)
	}
	return v
}
