// Interop driver: holds ts-mls clients and speaks JSON lines on stdin/stdout
// with mls/interop_test.go. One request per line, one response per line, in
// order. Bytes are base64 (standard, padded). Only MLS wire objects cross:
// MLSMessages (KeyPackage, Welcome, GroupInfo, PublicMessage,
// PrivateMessage) and ratchet trees; secrets stay here, and the test compares only the public
// values every member must agree on (epoch authenticator, an exporter value).
//
// Requests ({"cmd": ..., "client": name, ...}):
//   key_package {suite, uncompressed?}      -> {key_package, signature_key}
//   create      {suite, group_id, uncompressed?} -> {}
//   join        {welcome, ratchet_tree?}    -> {}
//   join_external {suite, group_info, uncompressed?} -> {commit}
//   group_info  {rfc_external_pub?}         -> {group_info, external_pub_bare} (with
//                                              external_pub and ratchet tree)
//   add_psk     {psk_id, psk}               -> {} (an external PSK the client knows)
//   commit      {adds?, removes?, external_psks?, resumption_epochs?,
//                group_context_extensions?: [{type, data}],
//                reinit?: {group_id, suite},
//                public?, ratchet_tree_ext?}
//                                           -> {commit, welcome?, ratchet_tree}
//   propose     {remove | add, public?}     -> {message}
//   external_sender {suite, uncompressed?}  -> {signature_key}
//   propose_external {group_info, remove}   -> {message} (by an external sender)
//   successor   {from, adds, uncompressed?} -> {welcome, ratchet_tree} (after a
//                                              ReInit: client creates the new group)
//   join_reinit {from, welcome, ratchet_tree?} -> {} (client joins the successor)
//   branch      {from, group_id, adds, uncompressed?} -> {welcome, ratchet_tree}
//   join_branch {from, welcome, ratchet_tree?} -> {} (client joins the subgroup)
//   encrypt     {data, aad?}                -> {message}
//   process     {message}                   -> {kind, data?, epoch, active}
//   state       {label, context, length}    -> {epoch, active, epoch_authenticator,
//                                               exporter, own_leaf, members,
//                                               ratchet_tree, suite}
//   quit                                    -> {} then exit
// Every response has ok: true, or ok: false and error. uncompressed (ECDSA
// suites) makes the client's signature key an uncompressed point; identity
// (key_package, create, join_external, successor) is the identity of the
// client's basic credential, its name by default.

import { createInterface } from "node:readline";
import {
  acceptAll,
  branchGroup,
  ciphersuites,
  createApplicationMessage,
  createCommit,
  createGroup,
  createGroupInfoWithExternalPubAndRatchetTree,
  createProposal,
  decodeMlsMessage,
  defaultCapabilities,
  defaultExtensionTypes,
  defaultLifetime,
  encodeMlsMessage,
  generateKeyPackage,
  generateKeyPackageWithKey,
  getCiphersuiteImpl,
  joinGroup,
  joinGroupExternal,
  joinGroupFromBranch,
  joinGroupFromReinit,
  makePskIndex,
  mlsExporter,
  processPrivateMessage,
  processPublicMessage,
  proposeExternal,
  reinitCreateNewGroup,
  zeroOutUint8Array,
} from "ts-mls";
import { getCiphersuiteFromId, getCiphersuiteNameFromId } from "ts-mls/crypto/ciphersuite.js";
import { createGroupInfo } from "ts-mls/createCommit.js";
import { decodeRatchetTree, encodeRatchetTree } from "ts-mls/ratchetTree.js";

const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const unb64 = (s) => new Uint8Array(Buffer.from(s, "base64"));
const utf8 = new TextEncoder();

// Clients by name: {name, impl, suite, keyPackage, privatePackage, state,
// psks, externalKeys}.
const clients = new Map();
const impls = new Map();

async function implFor(suite) {
  if (!impls.has(suite)) {
    const cs = getCiphersuiteFromId(suite);
    if (cs === undefined) throw new Error(`ts-mls does not know suite ${suite}`);
    impls.set(suite, await getCiphersuiteImpl(cs));
  }
  return impls.get(suite);
}

function client(name) {
  const c = clients.get(name);
  if (c === undefined) throw new Error(`no client ${name}`);
  return c;
}

function group(name) {
  const c = client(name);
  if (c.state === undefined) throw new Error(`client ${name} is in no group`);
  return c;
}

// pskIndex finds external PSKs the client was given (add_psk) and this
// group's resumption PSKs.
function pskIndex(c) {
  return makePskIndex(c.state, c.psks ?? {});
}

function decodeMessage(bytes, want) {
  const decoded = decodeMlsMessage(bytes, 0);
  if (decoded === undefined) throw new Error("cannot decode MLSMessage");
  const [msg, length] = decoded;
  if (length !== bytes.length) throw new Error(`trailing bytes after MLSMessage (${bytes.length - length})`);
  if (want !== undefined && !want.includes(msg.wireformat)) {
    throw new Error(`expected ${want.join(" or ")}, got ${msg.wireformat}`);
  }
  return msg;
}

// extensionType is ts-mls's name of a default extension type, or the number.
function extensionType(n) {
  return Object.keys(defaultExtensionTypes).find((k) => defaultExtensionTypes[k] === n) ?? n;
}

// withVarintLength prefixes bytes with their length as an MLS variable-size
// integer (RFC 9420 §2.1.2).
function withVarintLength(bytes) {
  const n = bytes.length;
  let prefix;
  if (n < 1 << 6) prefix = [n];
  else if (n < 1 << 14) prefix = [0x40 | (n >> 8), n & 0xff];
  else if (n < 1 << 30) prefix = [0x80 | (n >>> 24), (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];
  else throw new Error("vector too long");
  const out = new Uint8Array(prefix.length + n);
  out.set(prefix);
  out.set(bytes, prefix.length);
  return out;
}

// decodeTree decodes a base64 ratchet tree, or returns undefined for none.
function decodeTree(s) {
  if (!s) return undefined;
  const bytes = unb64(s);
  const decoded = decodeRatchetTree(bytes, 0);
  if (decoded === undefined || decoded[1] !== bytes.length) throw new Error("cannot decode ratchet tree");
  return decoded[0];
}

function encodeTree(tree) {
  return b64(encodeRatchetTree(tree));
}

// ECDSA curves by suite, for key pairs with uncompressed public keys.
const ecdsaCurves = { 2: "p256", 5: "p521", 7: "p384" };

// uncompressedKeyPair makes an ECDSA signature key pair whose public key is
// an uncompressed point (SEC1 0x04 prefix), as RFC 9420 implementations use.
// ts-mls 1.6.4's own keygen returns compressed points; it takes a caller's
// key pair in generateKeyPackageWithKey, and verifies with either form.
async function uncompressedKeyPair(suite) {
  const curve = ecdsaCurves[suite];
  if (curve === undefined) throw new Error(`suite ${suite} has no ECDSA signature`);
  const nist = await import("@noble/curves/nist.js");
  const signKey = nist[curve].utils.randomSecretKey();
  return { signKey, publicKey: nist[curve].getPublicKey(signKey, false) };
}

// newKeyPackage makes a key package for client name with a basic
// credential of identity (the name when not given).
async function newKeyPackage(name, suite, uncompressed, identity) {
  const impl = await implFor(suite);
  const credential = { credentialType: "basic", identity: utf8.encode(identity ?? name) };
  const kp = uncompressed
    ? await generateKeyPackageWithKey(credential, defaultCapabilities(), defaultLifetime, [], await uncompressedKeyPair(suite), impl)
    : await generateKeyPackage(credential, defaultCapabilities(), defaultLifetime, [], impl);
  const c = clients.get(name) ?? { name };
  Object.assign(c, { impl, suite, keyPackage: kp.publicPackage, privatePackage: kp.privatePackage });
  clients.set(name, c);
  return kp;
}

const handlers = {
  async key_package(req) {
    const kp = await newKeyPackage(req.client, req.suite, req.uncompressed, req.identity);
    const msg = encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: kp.publicPackage });
    return { key_package: b64(msg), signature_key: b64(kp.publicPackage.leafNode.signaturePublicKey) };
  },

  async create(req) {
    const kp = await newKeyPackage(req.client, req.suite, req.uncompressed, req.identity);
    const c = client(req.client);
    c.state = await createGroup(unb64(req.group_id), kp.publicPackage, kp.privatePackage, [], c.impl);
    return {};
  },

  async join(req) {
    const c = client(req.client);
    if (c.privatePackage === undefined) throw new Error(`client ${req.client} has no key package`);
    const welcome = decodeMessage(unb64(req.welcome), ["mls_welcome"]).welcome;
    c.state = await joinGroup(welcome, c.keyPackage, c.privatePackage, pskIndex(c), c.impl, decodeTree(req.ratchet_tree));
    return {};
  },

  async join_external(req) {
    const kp = await newKeyPackage(req.client, req.suite, req.uncompressed, req.identity);
    const c = client(req.client);
    const groupInfo = decodeMessage(unb64(req.group_info), ["mls_group_info"]).groupInfo;
    const res = await joinGroupExternal(groupInfo, kp.publicPackage, kp.privatePackage, false, c.impl);
    c.state = res.newState;
    const msg = { version: "mls10", wireformat: "mls_public_message", publicMessage: res.publicMessage };
    return { commit: b64(encodeMlsMessage(msg)) };
  },

  async group_info(req) {
    const c = group(req.client);
    let gi = await createGroupInfoWithExternalPubAndRatchetTree(c.state, [], c.impl);
    const externalPub = gi.extensions.find((e) => e.extensionType === "external_pub").extensionData;
    // The group's external public key (§8): is the extension that key bare?
    const keyPair = await c.impl.hpke.deriveKeyPair(c.state.keySchedule.externalSecret);
    const key = await c.impl.hpke.exportPublicKey(keyPair.publicKey);
    const bare = Buffer.from(key).equals(Buffer.from(externalPub));
    if (req.rfc_external_pub) {
      // ts-mls 1.6.4 writes the external_pub extension as the bare key; RFC
      // 9420 §12.4.3.2 has struct { HPKEPublicKey external_pub; }, a
      // length-prefixed key (changed upstream in LukaJCB/ts-mls#449, not in
      // 1.6). Sign the same GroupInfo with the RFC's encoding, with ts-mls's
      // own createGroupInfo.
      const extensions = gi.extensions.map((e) =>
        e.extensionType === "external_pub" ? { ...e, extensionData: withVarintLength(e.extensionData) } : e,
      );
      gi = await createGroupInfo(c.state.groupContext, c.state.confirmationTag, c.state, extensions, c.impl);
    }
    return {
      group_info: b64(encodeMlsMessage({ version: "mls10", wireformat: "mls_group_info", groupInfo: gi })),
      external_pub_bare: bare,
    };
  },

  async add_psk(req) {
    const c = clients.get(req.client) ?? { name: req.client };
    clients.set(req.client, c);
    c.psks = { ...(c.psks ?? {}), [b64(unb64(req.psk_id))]: unb64(req.psk) };
    return {};
  },

  async commit(req) {
    const c = group(req.client);
    const proposals = [];
    for (const kp of req.adds ?? []) {
      const keyPackage = decodeMessage(unb64(kp), ["mls_key_package"]).keyPackage;
      proposals.push({ proposalType: "add", add: { keyPackage } });
    }
    for (const removed of req.removes ?? []) {
      proposals.push({ proposalType: "remove", remove: { removed } });
    }
    // PSK proposals (§8.4): a fresh nonce of KDF.Nh bytes each.
    const nonce = () => crypto.getRandomValues(new Uint8Array(c.impl.kdf.size));
    for (const id of req.external_psks ?? []) {
      proposals.push({ proposalType: "psk", psk: { preSharedKeyId: { psktype: "external", pskId: unb64(id), pskNonce: nonce() } } });
    }
    for (const epoch of req.resumption_epochs ?? []) {
      const preSharedKeyId = {
        psktype: "resumption",
        usage: "application",
        pskGroupId: c.state.groupContext.groupId,
        pskEpoch: BigInt(epoch),
        pskNonce: nonce(),
      };
      proposals.push({ proposalType: "psk", psk: { preSharedKeyId } });
    }
    if (req.reinit) {
      const reinit = {
        groupId: unb64(req.reinit.group_id),
        version: "mls10",
        cipherSuite: getCiphersuiteNameFromId(req.reinit.suite),
        extensions: [],
      };
      proposals.push({ proposalType: "reinit", reinit });
    }
    if (req.group_context_extensions) {
      const extensions = req.group_context_extensions.map((e) => ({ extensionType: extensionType(e.type), extensionData: unb64(e.data) }));
      proposals.push({ proposalType: "group_context_extensions", groupContextExtensions: { extensions } });
    }
    const res = await createCommit(
      { state: c.state, cipherSuite: c.impl, pskIndex: pskIndex(c) },
      {
        extraProposals: proposals,
        wireAsPublicMessage: Boolean(req.public),
        ratchetTreeExtension: Boolean(req.ratchet_tree_ext),
      },
    );
    c.state = res.newState;
    res.consumed.forEach(zeroOutUint8Array);
    const out = { commit: b64(encodeMlsMessage(res.commit)), ratchet_tree: encodeTree(c.state.ratchetTree) };
    if (res.welcome !== undefined) {
      out.welcome = b64(encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: res.welcome }));
    }
    return out;
  },

  // successor: client (a new name, in the new suite) creates the group that
  // replaces from's group after a ReInit (§11.2), adding the members whose
  // key packages are given; returns the Welcome.
  async successor(req) {
    const old = group(req.from);
    const reinit = old.state.groupActiveState.reinit;
    if (old.state.groupActiveState.kind !== "suspendedPendingReinit" || reinit === undefined) {
      throw new Error(`client ${req.from} is not in a group closed by a ReInit`);
    }
    const kp = await newKeyPackage(req.client, ciphersuites[reinit.cipherSuite], req.uncompressed, req.identity);
    const c = client(req.client);
    const members = (req.adds ?? []).map((m) => decodeMessage(unb64(m), ["mls_key_package"]).keyPackage);
    const res = await reinitCreateNewGroup(old.state, kp.publicPackage, kp.privatePackage, members, reinit.groupId, reinit.cipherSuite, reinit.extensions);
    c.state = res.newState;
    res.consumed.forEach(zeroOutUint8Array);
    return {
      welcome: b64(encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: res.welcome })),
      ratchet_tree: encodeTree(c.state.ratchetTree),
    };
  },

  // join_reinit: client (holding a key package of the new suite) joins the
  // successor of from's group from a Welcome.
  async join_reinit(req) {
    const old = group(req.from);
    const c = client(req.client);
    const welcome = decodeMessage(unb64(req.welcome), ["mls_welcome"]).welcome;
    c.state = await joinGroupFromReinit(old.state, welcome, c.keyPackage, c.privatePackage, decodeTree(req.ratchet_tree));
    return {};
  },

  // branch: client (a new name) creates a subgroup of from's group (§11.3)
  // with the members whose key packages are given; returns the Welcome.
  async branch(req) {
    const old = group(req.from);
    const kp = await newKeyPackage(req.client, old.suite, req.uncompressed, req.identity);
    const c = client(req.client);
    const members = (req.adds ?? []).map((m) => decodeMessage(unb64(m), ["mls_key_package"]).keyPackage);
    const res = await branchGroup(old.state, kp.publicPackage, kp.privatePackage, members, unb64(req.group_id), c.impl);
    c.state = res.newState;
    res.consumed.forEach(zeroOutUint8Array);
    return {
      welcome: b64(encodeMlsMessage({ version: "mls10", wireformat: "mls_welcome", welcome: res.welcome })),
      ratchet_tree: encodeTree(c.state.ratchetTree),
    };
  },

  // join_branch: client (holding a key package) joins a subgroup of from's
  // group from a Welcome.
  async join_branch(req) {
    const old = group(req.from);
    const c = client(req.client);
    const welcome = decodeMessage(unb64(req.welcome), ["mls_welcome"]).welcome;
    c.state = await joinGroupFromBranch(old.state, welcome, c.keyPackage, c.privatePackage, decodeTree(req.ratchet_tree), c.impl);
    return {};
  },

  // external_sender: client becomes an external sender (§12.1.8.1) with a
  // fresh signature key pair of the suite; returns its public key.
  async external_sender(req) {
    const impl = await implFor(req.suite);
    const keys = req.uncompressed ? await uncompressedKeyPair(req.suite) : await impl.signature.keygen();
    clients.set(req.client, { name: req.client, impl, suite: req.suite, externalKeys: keys });
    return { signature_key: b64(keys.publicKey) };
  },

  // propose_external: the external sender client proposes removing a
  // member of the group of a GroupInfo.
  async propose_external(req) {
    const c = client(req.client);
    if (c.externalKeys === undefined) throw new Error(`client ${req.client} is no external sender`);
    const groupInfo = decodeMessage(unb64(req.group_info), ["mls_group_info"]).groupInfo;
    const proposal = { proposalType: "remove", remove: { removed: req.remove } };
    const msg = await proposeExternal(groupInfo, proposal, c.externalKeys.publicKey, c.externalKeys.signKey, c.impl);
    return { message: b64(encodeMlsMessage(msg)) };
  },

  async propose(req) {
    const c = group(req.client);
    let proposal;
    if (typeof req.remove === "number") {
      proposal = { proposalType: "remove", remove: { removed: req.remove } };
    } else if (req.add) {
      proposal = { proposalType: "add", add: { keyPackage: decodeMessage(unb64(req.add), ["mls_key_package"]).keyPackage } };
    } else {
      throw new Error("propose: give remove or add");
    }
    const res = await createProposal(c.state, Boolean(req.public), proposal, c.impl);
    c.state = res.newState;
    res.consumed.forEach(zeroOutUint8Array);
    return { message: b64(encodeMlsMessage(res.message)) };
  },

  async encrypt(req) {
    const c = group(req.client);
    const aad = req.aad ? unb64(req.aad) : new Uint8Array();
    const res = await createApplicationMessage(c.state, unb64(req.data ?? ""), c.impl, aad);
    c.state = res.newState;
    res.consumed.forEach(zeroOutUint8Array);
    const msg = { version: "mls10", wireformat: "mls_private_message", privateMessage: res.privateMessage };
    return { message: b64(encodeMlsMessage(msg)) };
  },

  async process(req) {
    const c = group(req.client);
    const msg = decodeMessage(unb64(req.message), ["mls_private_message", "mls_public_message"]);
    // ts-mls 1.6.4's processMessage hands processPrivateMessage an empty PSK
    // index instead of the one it is given, so PSK proposals in a
    // PrivateMessage commit could not be read: call the two directly.
    const res =
      msg.wireformat === "mls_private_message"
        ? await processPrivateMessage(c.state, msg.privateMessage, pskIndex(c), c.impl, acceptAll)
        : { kind: "newState", ...(await processPublicMessage(c.state, msg.publicMessage, pskIndex(c), c.impl, acceptAll)) };
    c.state = res.newState;
    res.consumed.forEach(zeroOutUint8Array);
    const out = {
      epoch: Number(c.state.groupContext.epoch),
      active: c.state.groupActiveState.kind === "active",
    };
    if (res.kind === "applicationMessage") {
      out.kind = "application";
      out.data = b64(res.message);
    } else {
      out.kind = "handshake";
    }
    return out;
  },

  async state(req) {
    const c = group(req.client);
    const s = c.state;
    const exporter = await mlsExporter(s.keySchedule.exporterSecret, req.label, unb64(req.context ?? ""), req.length, c.impl);
    return {
      suite: c.suite,
      epoch: Number(s.groupContext.epoch),
      active: s.groupActiveState.kind === "active",
      epoch_authenticator: b64(s.keySchedule.epochAuthenticator),
      exporter: b64(exporter),
      own_leaf: s.privatePath.leafIndex,
      members: s.ratchetTree.filter((n, i) => i % 2 === 0 && n !== undefined).length,
      ratchet_tree: encodeTree(s.ratchetTree),
    };
  },
};

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
// Requests are handled one at a time, in order: a client's state must not be
// read while an earlier request is still changing it.
let queue = Promise.resolve();
rl.on("line", (line) => {
  queue = queue.then(() => handle(line));
});
rl.on("close", () => {
  queue.then(() => process.exit(0));
});

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    reply({ ok: false, error: `bad request: ${e.message}` });
    return;
  }
  if (req.cmd === "quit") {
    reply({ ok: true });
    process.exit(0);
  }
  const h = handlers[req.cmd];
  if (h === undefined) {
    reply({ ok: false, error: `unknown command ${JSON.stringify(req.cmd)}` });
    return;
  }
  try {
    reply({ ok: true, ...(await h(req)) });
  } catch (e) {
    reply({ ok: false, error: `${req.cmd}: ${e?.message ?? e}` });
  }
}

function reply(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}
