// Package negotiation is the pure engine of the talks: ordered, authenticated
// events in, the state of the negotiation out.
//
// It imports only the standard library and does no I/O, reads no clock and
// draws no randomness, so every party's desk that replays the same channel
// log computes byte-identical state ([State.Canonical]). The venue never
// sees any of this: events travel inside MLS-encrypted channels (RFC 9420)
// and the desk hands the engine what it has decrypted and authenticated.
//
// # Events
//
// An [Event] carries the channel, the log index, the sender's delegation,
// device and person (which the desk vouches for) and a payload: a JSON
// object with a version and a type, {"v":1,"type":"propose",...}. Build
// payloads with the New... constructors ([NewTableText], [NewProposal],
// [NewResponse], [NewPosition], ...). [State.Apply] records every event in
// [State.Log]. An event of an unknown type or version, a malformed one, one
// out of log order or one the rules do not allow is kept there with its
// payload and reason and changes nothing else.
//
// Payloads, all with "v":1 and "type", and who may send them:
//
//	type          fields                                              sender
//	add_item      item, title, parent                                 party or host
//	item_status   item, status (open, deferred, closed)               party or host
//	table_text    text, title, item, level, language, paragraphs      party
//	propose       text, amendment {op, para, base, path, notation,    party
//	              option, after}
//	respond       proposal, response (accept, accept_ad_referendum,   another party
//	              decline), note
//	withdraw      proposal                                            the proposing party
//	position      text, para, version, stance (agree,                 party
//	              agree_ad_referendum, reserve, object), note
//	ready         scope (text, item), id, level, note                 head of a party
//	statement     body, reply_to, about_text, about_para              party or host
//	adopt         text, version, languages [{lang, title,             party
//	              paragraphs}], seed, digest (base64)
//	sign          text, digest, signature (base64)                    party
//	translate     text, lang, title, paragraphs [{para, text}]        party or host
//	concord       text, lang, parts [{para, version}]                 party
//	adopt_package package, title, texts [{text, version,              party
//	              languages}], seed, digest (base64)
//
// Unknown fields make a payload malformed. IDs the engine assigns are
// deterministic: proposals "A1", "A2", ...; statements "S1", ...;
// paragraphs "p1", "p2", ... per text, stable across moves.
//
// # Concordance and packages
//
// The authentic language versions of a text are equally authoritative
// (Vienna Convention on the Law of Treaties, art. 33). Before a text is
// adopted in a language other than that of the negotiation, the wording of
// its title and of every paragraph in that language is submitted
// (translate, by a party or the host's translators) and confirmed by every
// party (concord); a new wording, or a change of the original paragraph,
// clears the confirmations ([State.Concordance]). Several agreed texts can
// be adopted together as one package under one digest (adopt_package):
// nothing is agreed until everything is agreed, and one signature per
// party covers the whole package.
//
// # Who may do what
//
// The parties are fixed by [Config]; the host is not a party. The engine
// decides, from the authenticated sender alone:
//
//   - a position, a proposal, an answer, a readiness signal, an adoption or
//     a signature is always the sender's own delegation's: no payload names
//     the party it acts for, so no delegate can act for another party;
//   - only the proposing party withdraws a proposal, and it cannot answer it;
//   - only the head of delegation signals readiness, when Config names one;
//   - the host may add agenda items, set their status and make statements,
//     nothing else;
//   - a signature must verify under the party's root key, when Config has it.
//
// # Texts
//
// A negotiating text has numbered paragraphs written in bracket notation
// ([ParseNotation]): "[complete] [partial]" are alternatives, each option
// attributed to the party that tabled it, "[... [15] [30] km ...]" nests.
// Every change makes a new paragraph version and a new text version;
// [Text.Diff] compares any two text versions word by word.
//
// # Proposals
//
// A proposal amends one paragraph (replace, insert, delete, add an
// alternative, remove brackets, delete the paragraph) or the order (add or
// move a paragraph). It names the paragraph version it was drafted against:
// a proposal against an older version is rejected as stale, and when a
// proposal changes a paragraph every other open proposal on it becomes
// stale, so log order decides and nothing is merged silently. A proposal
// takes effect when every other party has accepted it (accept or accept ad
// referendum); one refusal declines it. Putting one's own bracketed
// material on the table needs nobody's consent: a new alternative, or a new
// paragraph entirely in brackets, takes effect when tabled.
//
// # Positions and the package
//
// Each party takes a position on each paragraph version: agree, agree ad
// referendum, reserve or object, with a note. A new wording clears the
// positions (the history keeps them). Nobody can agree to a wording that
// still has brackets. "Nothing is agreed until everything is agreed": the
// [PackageView] of a text, an agenda item and the whole agenda lists the
// paragraphs agreed by all and, for every other one, who blocks it and why.
//
// # Adoption
//
// A text agreed by all is adopted in its authentic languages; the adopting
// desk computes an outcome digest (package outcome) over salted
// commitments derived from a 32-byte seed, and every party's root key signs
// [OutcomeSigningMessage] of it. The text is frozen from adoption on and
// adopted when every party has signed.
package negotiation
