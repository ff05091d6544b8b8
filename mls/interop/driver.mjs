// Interop driver: holds ts-mls clients and speaks JSON lines on stdin/stdout
// with mls/interop_test.go. One request per line, one response per line, in
// order. Bytes are base64 (standard, padded). Only MLS wire objects cross:
// MLSMessage (KeyPackage, Welcome, PublicMessage, PrivateMessage) and
// ratchet trees; secrets stay here, and the test compares only the public
// values every member must agree on (epoch authenticator, an exporter value).
//
// Requests ({"cmd": ..., "client": name, ...}):
//   key_package {suite, uncompressed?}      -> {key_package, signature_key}
//   create      {suite, group_id, uncompressed?} -> {}
//   join        {welcome, ratchet_tree?}    -> {}
//   commit      {adds?, removes?, public?, ratchet_tree_ext?}
//                                           -> {commit, welcome?, ratchet_tree}
//   propose     {remove, public?}           -> {message}
//   encrypt     {data, aad?}                -> {message}
//   process     {message}                   -> {kind, data?, aad?, epoch, active}
//   state       {label, context, length}    -> {epoch, active, epoch_authenticator,
//                                               exporter, own_leaf, members,
//                                               ratchet_tree, suite}
//   quit                                    -> {} then exit
// Every response has ok: true, or ok: false and error. uncompressed (ECDSA
// suites) makes the client's signature key an uncompressed point.

import { createInterface } from "node:readline";
import {
  acceptAll,
  createApplicationMessage,
  createCommit,
  createGroup,
  createProposal,
  decodeMlsMessage,
  defaultCapabilities,
  defaultLifetime,
  emptyPskIndex,
  encodeMlsMessage,
  generateKeyPackage,
  generateKeyPackageWithKey,
  getCiphersuiteImpl,
  joinGroup,
  makePskIndex,
  mlsExporter,
  processMessage,
  zeroOutUint8Array,
} from "ts-mls";
import { getCiphersuiteFromId } from "ts-mls/crypto/ciphersuite.js";
import { decodeRatchetTree, encodeRatchetTree } from "ts-mls/ratchetTree.js";

const b64 = (bytes) => Buffer.from(bytes).toString("base64");
const unb64 = (s) => new Uint8Array(Buffer.from(s, "base64"));
const utf8 = new TextEncoder();

// Clients by name: {impl, suite, identity, keyPackage, privatePackage, state}.
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

async function newKeyPackage(name, suite, uncompressed) {
  const impl = await implFor(suite);
  const credential = { credentialType: "basic", identity: utf8.encode(name) };
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
    const kp = await newKeyPackage(req.client, req.suite, req.uncompressed);
    const msg = encodeMlsMessage({ version: "mls10", wireformat: "mls_key_package", keyPackage: kp.publicPackage });
    return { key_package: b64(msg), signature_key: b64(kp.publicPackage.leafNode.signaturePublicKey) };
  },

  async create(req) {
    const kp = await newKeyPackage(req.client, req.suite, req.uncompressed);
    const c = client(req.client);
    c.state = await createGroup(unb64(req.group_id), kp.publicPackage, kp.privatePackage, [], c.impl);
    return {};
  },

  async join(req) {
    const c = client(req.client);
    if (c.privatePackage === undefined) throw new Error(`client ${req.client} has no key package`);
    const welcome = decodeMessage(unb64(req.welcome), ["mls_welcome"]).welcome;
    let tree;
    if (req.ratchet_tree) {
      const bytes = unb64(req.ratchet_tree);
      const decoded = decodeRatchetTree(bytes, 0);
      if (decoded === undefined || decoded[1] !== bytes.length) throw new Error("cannot decode ratchet tree");
      tree = decoded[0];
    }
    c.state = await joinGroup(welcome, c.keyPackage, c.privatePackage, emptyPskIndex, c.impl, tree);
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
    const res = await createCommit(
      { state: c.state, cipherSuite: c.impl, pskIndex: makePskIndex(c.state, {}) },
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

  async propose(req) {
    const c = group(req.client);
    if (typeof req.remove !== "number") throw new Error("propose: only remove is supported");
    const res = await createProposal(c.state, Boolean(req.public), { proposalType: "remove", remove: { removed: req.remove } }, c.impl);
    c.state = res.newState;
    res.consumed.forEach(zeroOutUint8Array);
    return { message: b64(encodeMlsMessage(res.message)) };
  },

  async encrypt(req) {
    const c = group(req.client);
    const aad = req.aad ? unb64(req.aad) : new Uint8Array();
    const res = await createApplicationMessage(c.state, unb64(req.data), c.impl, aad);
    c.state = res.newState;
    res.consumed.forEach(zeroOutUint8Array);
    const msg = { version: "mls10", wireformat: "mls_private_message", privateMessage: res.privateMessage };
    return { message: b64(encodeMlsMessage(msg)) };
  },

  async process(req) {
    const c = group(req.client);
    const msg = decodeMessage(unb64(req.message), ["mls_private_message", "mls_public_message"]);
    const res = await processMessage(msg, c.state, makePskIndex(c.state, {}), acceptAll, c.impl);
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
