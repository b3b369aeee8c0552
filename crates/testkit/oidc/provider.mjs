// A real OpenID Provider for Custodian's single sign-on tests: npm's oidc-provider (an OpenID
// Certified implementation), started by the test harness on loopback. Only the sign-in screen
// is ours: the test names the account and how it authenticated (amr, acr) in the query of the
// interaction URL, where a person would type a password and use a second factor.
//
// Environment: PORT, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, ACCOUNTS (JSON object: subject ->
// claims, e.g. {"alice": {"email": "alice@example.com", "email_verified": true}}).
import http from "node:http";
import Provider from "oidc-provider";

const env = process.env;
const accounts = JSON.parse(env.ACCOUNTS);
const issuer = `http://127.0.0.1:${env.PORT}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: env.CLIENT_ID,
      client_secret: env.CLIENT_SECRET,
      redirect_uris: [env.REDIRECT_URI],
      grant_types: ["authorization_code"],
      response_types: ["code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  pkce: { required: () => true },
  acrValues: ["urn:custodian:test:password", "urn:custodian:test:mfa"],
  // amr and acr in every ID token, as identity providers commonly send them.
  claims: { openid: ["sub", "amr", "acr", "auth_time"], email: ["email", "email_verified"] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: (_ctx, sub) =>
    accounts[sub] && { accountId: sub, claims: () => ({ sub, ...accounts[sub] }) },
  // A first-party client: no consent screen.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email");
    await grant.save();
    return grant;
  },
  cookies: { keys: ["custodian-test-only-cookie-key"] },
  // ID tokens live 2 minutes, shorter than a sign-in attempt (10), so a test can let one expire.
  ttl: { IdToken: 120, AccessToken: 600, AuthorizationCode: 60, Interaction: 600, Session: 600, Grant: 600 },
});

provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([^/]+)$/);
  if (ctx.method !== "GET" || !match) {
    return next();
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const sub = ctx.query.sub;
  if (!sub) {
    ctx.body = `sign in: ${details.prompt.name}`;
    return undefined;
  }
  const login = { accountId: sub, amr: String(ctx.query.amr || "pwd").split(",") };
  if (ctx.query.acr) {
    login.acr = ctx.query.acr;
  }
  ctx.respond = false;
  await provider.interactionFinished(ctx.req, ctx.res, { login }, { mergeWithLastSubmission: false });
  return undefined;
});

http.createServer(provider.callback()).listen(Number(env.PORT), "127.0.0.1", () => {
  console.log("ready");
});
