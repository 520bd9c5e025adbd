// A strict ActivityPub peer built on Fedify, for Crieur's integration tests.
// It listens on 127.0.0.1 only, hosts one actor (alice), verifies the HTTP
// signature and Digest of every inbox POST itself (answering 401 when they
// fail, instead of falling back to LD signatures), and exposes a small
// control API under /_test/ for the Go tests.
import http from "node:http";
import {
  Accept, Add, Create, Delete, Endpoints, Follow, Hashtag, Like, Note, Person, Reject, Remove, Tombstone, Undo, Update,
  createFederation, MemoryKvStore, signRequest, verifyRequest,
} from "@fedify/fedify";

const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
// RSA-2048, as Mastodon's actors have: Fedify's generateCryptoKeyPair
// makes 4096-bit keys, about 0.7 s of CPU each where 2048 takes 0.17 s,
// for every peer each test starts.
const rsa2048 = () => crypto.subtle.generateKey(
  { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  true, ["sign", "verify"]);
const keys = await rsa2048();
const state = { received: [], attempts: {}, rejected: [], fail: 0, gone: false, followed: null, signed: [] };
let port = 0;

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "alice") return null;
    const k = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Alice (Fedify test peer)",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: k[0].cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => identifier === "alice" ? [keys] : []);

// languageOf is the language Fedify read from the object's content, as a
// reader's client would label the post ("" when it has none).
async function languageOf(activity) {
  if (!(activity instanceof Create || activity instanceof Update)) return "";
  const obj = await activity.getObject();
  for (const c of obj?.contents ?? []) {
    if (typeof c === "string") continue;
    const tag = c.locale?.baseName ?? c.language?.compact?.() ?? (c.language ? String(c.language) : "");
    if (tag) return tag;
  }
  return "";
}

// attachmentsOf is what Fedify read of the object's pictures: the type,
// the description a client shows as ALT, the media type, size and address.
async function attachmentsOf(activity) {
  if (!(activity instanceof Create || activity instanceof Update)) return [];
  const obj = await activity.getObject();
  const out = [];
  for await (const a of obj?.getAttachments?.() ?? []) {
    out.push({
      type: a.constructor.name, name: a.name?.toString() ?? "", mediaType: a.mediaType ?? "",
      url: a.url?.href?.toString?.() ?? String(a.url ?? ""), width: a.width ?? 0, height: a.height ?? 0,
    });
  }
  return out;
}

// hashtagsOf is what Fedify read of the object's tags as hashtags (after
// JSON-LD expansion: a "Hashtag" the context does not define is no
// hashtag here): the name shown and the address it links to.
async function hashtagsOf(activity) {
  if (!(activity instanceof Create || activity instanceof Update)) return [];
  const obj = await activity.getObject();
  const out = [];
  for await (const t of obj?.getTags?.() ?? []) {
    if (t instanceof Hashtag) out.push({ name: t.name?.toString() ?? "", href: t.href?.href ?? "" });
  }
  return out;
}

async function record(ctx, activity) {
  const json = await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
  state.received.push({
    type: json.type, id: json.id, actor: json.actor, object: json.object, verified: true,
    language: await languageOf(activity),
    attachments: await attachmentsOf(activity),
    hashtags: await hashtagsOf(activity),
  });
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, record)
  .on(Create, record)
  .on(Update, record)
  .on(Delete, record)
  .on(Undo, record)
  .on(Like, record)
  .on(Add, record)
  .on(Remove, record)
  .on(Reject, record);

function ctxFor(req) {
  return federation.createContext(new URL(`http://127.0.0.1:${port}/`), undefined);
}

async function toRequest(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const body = Buffer.concat(chunks);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  return new Request(`http://127.0.0.1:${port}${req.url}`, {
    method: req.method, headers, body: ["GET", "HEAD"].includes(req.method) ? undefined : body,
  });
}

async function send(res, response) {
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}

function json(res, status, v) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(v));
}

async function webfinger(handle) {
  const [user, host] = handle.replace(/^@/, "").split("@");
  const r = await fetch(`http://${host}/.well-known/webfinger?resource=acct:${user}@${host}`);
  if (!r.ok) throw new Error(`webfinger ${handle}: ${r.status}`);
  const jrd = await r.json();
  if (jrd.subject !== `acct:${user}@${host}`) throw new Error(`webfinger subject ${jrd.subject}`);
  const self = jrd.links.find((l) => l.rel === "self" && l.type === "application/activity+json");
  if (!self) throw new Error("webfinger: no self link");
  return self.href;
}

async function control(req, res, path) {
  const ctx = ctxFor(req);
  const input = req.method === "POST" ? JSON.parse((await (await toRequest(req)).text()) || "{}") : {};
  const loader = await ctx.getDocumentLoader({ identifier: "alice" });
  switch (path) {
    case "/_test/state":
      return json(res, 200, state);
    case "/_test/mode":
      if (input.fail !== undefined) state.fail = input.fail;
      if (input.gone !== undefined) state.gone = input.gone;
      if (input.failTypes !== undefined) state.failTypes = input.failTypes; // {"Add": 1000}: those activities fail
      return json(res, 200, { fail: state.fail, gone: state.gone, failTypes: state.failTypes });
    case "/_test/follow": {
      const actorUrl = await webfinger(input.handle);
      const actor = await ctx.lookupObject(actorUrl, { documentLoader: loader });
      if (actor == null || actor.id?.href !== actorUrl) throw new Error(`lookup ${actorUrl} failed`);
      const follow = new Follow({
        id: new URL(`http://127.0.0.1:${port}/follows/${Date.now()}`),
        actor: ctx.getActorUri("alice"), object: actor.id,
      });
      await ctx.sendActivity({ identifier: "alice" }, actor, follow);
      state.followed = { actor: actorUrl, follow: follow.id.href, name: actor.name?.toString(), key: actor.publicKeyId?.href };
      return json(res, 200, state.followed);
    }
    case "/_test/unfollow": {
      const actor = await ctx.lookupObject(state.followed.actor, { documentLoader: loader });
      await ctx.sendActivity({ identifier: "alice" }, actor, new Undo({
        id: new URL(`http://127.0.0.1:${port}/undo/${Date.now()}`),
        actor: ctx.getActorUri("alice"),
        object: new Follow({ id: new URL(state.followed.follow), actor: ctx.getActorUri("alice"), object: actor.id }),
      }));
      return json(res, 200, {});
    }
    case "/_test/like": {
      const actor = await ctx.lookupObject(state.followed.actor, { documentLoader: loader });
      await ctx.sendActivity({ identifier: "alice" }, actor, new Like({
        id: new URL(`http://127.0.0.1:${port}/likes/${Date.now()}`),
        actor: ctx.getActorUri("alice"), object: new URL(input.object),
      }));
      return json(res, 200, {});
    }
    case "/_test/reply": {
      // Creates a reply, or with input.note edits (Update) or deletes
      // (Delete) the reply input.note made earlier, as Mastodon does.
      const actor = await ctx.lookupObject(state.followed.actor, { documentLoader: loader });
      const id = Date.now();
      const noteId = new URL(input.note ?? `http://127.0.0.1:${port}/notes/${id}`);
      const note = new Note({
        id: noteId, attribution: ctx.getActorUri("alice"), replyTarget: new URL(input.object), content: input.content,
      });
      let activity;
      if (input.op === "delete") {
        activity = new Delete({
          id: new URL(`${noteId.href}#delete-${id}`), actor: ctx.getActorUri("alice"),
          object: new Tombstone({ id: noteId }),
        });
      } else if (input.op === "update") {
        activity = new Update({ id: new URL(`${noteId.href}#update-${id}`), actor: ctx.getActorUri("alice"), object: note });
      } else {
        activity = new Create({ id: new URL(`${noteId.href}/activity`), actor: ctx.getActorUri("alice"), object: note });
      }
      await ctx.sendActivity({ identifier: "alice" }, actor, activity);
      return json(res, 200, { note: noteId.href, activity: activity.id.href });
    }
    case "/_test/vote": {
      // A poll answer as Mastodon sends it: a Note named after the option,
      // in reply to the Question, addressed to its author only. input.id
      // lets a test redeliver the same vote.
      const actor = await ctx.lookupObject(state.followed.actor, { documentLoader: loader });
      const id = input.id ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
      await ctx.sendActivity({ identifier: "alice" }, actor, new Create({
        id: new URL(`http://127.0.0.1:${port}/votes/${id}/activity`),
        actor: ctx.getActorUri("alice"),
        to: actor.id,
        object: new Note({
          id: new URL(`http://127.0.0.1:${port}/votes/${id}`),
          attribution: ctx.getActorUri("alice"),
          name: input.option,
          replyTarget: new URL(input.question),
          to: actor.id,
        }),
      }));
      return json(res, 200, { id });
    }
    case "/_test/fetch": {
      // A signed GET, as an authorized-fetch server would make.
      const doc = await loader(input.url);
      return json(res, 200, doc.document);
    }
    case "/_test/send": {
      // Sends a raw activity signed as alice, then spoils it as asked, so
      // the tests can show what Crieur refuses.
      const body = JSON.stringify(input.activity);
      const headers = new Headers({ "content-type": "application/activity+json" });
      if (input.mode === "stale") headers.set("date", new Date(Date.now() - 2 * 3600 * 1000).toUTCString());
      let request = new Request(input.url, { method: "POST", headers, body });
      const keyId = new URL(`http://127.0.0.1:${port}/users/alice#main-key`);
      if (input.mode !== "unsigned") {
        const signWith = input.mode === "wrongkey" ? (await rsa2048()).privateKey : keys.privateKey;
        request = await signRequest(request, signWith, keyId);
      }
      let sendBody = body;
      if (input.mode === "tampered") sendBody = body.replace("Follow", "Follow ");
      const sent = await fetch(input.url, { method: "POST", headers: request.headers, body: sendBody });
      return json(res, 200, { status: sent.status, body: await sent.text() });
    }
    default:
      return json(res, 404, { error: "unknown control path" });
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const path = new URL(req.url, "http://x").pathname;
    if (path.startsWith("/_test/")) return await control(req, res, path);
    const request = await toRequest(req);
    if (req.method === "POST" && (path === "/inbox" || path.endsWith("/inbox"))) {
      const text = await request.clone().text();
      let id = "?";
      let type = "?";
      try { ({ id, type } = JSON.parse(text)); } catch { /* counted under "?" */ }
      state.attempts[id] = (state.attempts[id] || 0) + 1;
      if (state.gone) return json(res, 410, { error: "gone" });
      if ((state.failTypes?.[type] ?? 0) > 0) { state.failTypes[type]--; return json(res, 500, { error: `failing ${type} on purpose` }); }
      if (state.fail > 0) { state.fail--; return json(res, 500, { error: "failing on purpose" }); }
      const ctx = ctxFor(req);
      const key = await verifyRequest(request.clone(), { documentLoader: ctx.documentLoader, contextLoader: ctx.contextLoader });
      if (key == null) {
        state.rejected.push(id);
        return json(res, 401, { error: "HTTP signature or Digest did not verify" });
      }
      // Every POST whose signature verified, with the key that signed it,
      // whatever Fedify's listeners make of it next: a relay passes on
      // others' activities under its own key, which Fedify's inbox then
      // refuses (the signer is not the actor); the relay tests read them here.
      try { state.signed.push({ key: key.id?.href, activity: JSON.parse(text) }); } catch { /* not JSON */ }
    }
    return await send(res, await federation.fetch(request, { contextData: undefined }));
  } catch (e) {
    console.error(e);
    json(res, 500, { error: String(e) });
  }
});

server.listen(0, "127.0.0.1", () => {
  port = server.address().port;
  console.log(`READY ${port}`);
});
