// A Fedify 2.x ActivityPub peer for Crieur's integration tests. Fedify 2
// signs with RFC 9421 HTTP Message Signatures first and falls back to
// draft-cavage only when refused; this peer records every request it sends
// and the answer, so a test can tell which signature the first knock used
// and whether it was accepted. Loopback only; control API under /_test/.
import http from "node:http";
import { createFederation, MemoryKvStore } from "@fedify/fedify";
import { Accept, Endpoints, Follow, Person } from "@fedify/fedify/vocab";

const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
// RSA-2048, as Mastodon's actors have: Fedify's generateCryptoKeyPair
// makes 4096-bit keys, about 0.7 s of CPU each where 2048 takes 0.17 s,
// for every peer each test starts.
const rsa2048 = () => crypto.subtle.generateKey(
  { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
  true, ["sign", "verify"]);
const keys = await rsa2048();
const state = { sent: [], received: [] };
let port = 0;

// Every outgoing request and its answer, as the peer saw them.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const request = new Request(input, init);
  const response = await realFetch(request.clone());
  state.sent.push({
    method: request.method, url: request.url, status: response.status,
    rfc9421: request.headers.has("signature-input"),
    cavage: request.headers.has("signature") && !request.headers.has("signature-input"),
  });
  return response;
};

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (identifier !== "alice") return null;
    const k = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: "Alice (Fedify 2 test peer)",
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: k[0].cryptographicKey,
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) => identifier === "alice" ? [keys] : []);

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Accept, async (_ctx, activity) => { state.received.push({ type: "Accept", id: activity.id?.href }); });

async function toRequest(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
  return new Request(`http://127.0.0.1:${port}${req.url}`, {
    method: req.method, headers, body: ["GET", "HEAD"].includes(req.method) ? undefined : Buffer.concat(chunks),
  });
}

function json(res, status, v) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(v));
}

async function control(req, res, path) {
  const ctx = federation.createContext(new URL(`http://127.0.0.1:${port}/`), undefined);
  const input = req.method === "POST" ? JSON.parse((await (await toRequest(req)).text()) || "{}") : {};
  switch (path) {
    case "/_test/state":
      return json(res, 200, state);
    case "/_test/follow": {
      // WebFinger over http ourselves (Fedify's lookup insists on https).
      const [user, host] = input.handle.replace(/^@/, "").split("@");
      const jrd = await (await realFetch(`http://${host}/.well-known/webfinger?resource=acct:${user}@${host}`)).json();
      const actorUrl = jrd.links.find((l) => l.rel === "self").href;
      const loader = await ctx.getDocumentLoader({ identifier: "alice" });
      const actor = await ctx.lookupObject(actorUrl, { documentLoader: loader });
      if (actor?.id?.href !== actorUrl) throw new Error(`lookup ${actorUrl} failed`);
      state.sent = [];
      const follow = new Follow({
        id: new URL(`http://127.0.0.1:${port}/follows/${Date.now()}`),
        actor: ctx.getActorUri("alice"), object: actor.id,
      });
      await ctx.sendActivity({ identifier: "alice" }, actor, follow, { immediate: true });
      return json(res, 200, { actor: actorUrl, follow: follow.id.href });
    }
    default:
      return json(res, 404, { error: "unknown control path" });
  }
}

const server = http.createServer(async (req, res) => {
  try {
    const path = new URL(req.url, "http://x").pathname;
    if (path.startsWith("/_test/")) return await control(req, res, path);
    const response = await federation.fetch(await toRequest(req), { contextData: undefined });
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (e) {
    console.error(e);
    json(res, 500, { error: String(e) });
  }
});

server.listen(0, "127.0.0.1", () => {
  port = server.address().port;
  console.log(`READY ${port}`);
});
