// A real OpenID Connect provider (panva/oidc-provider) for amsync's
// sign-on tests. It listens on 127.0.0.1 on a free port and prints one JSON
// line {"issuer": "..."} once ready. Clients:
//   amsync         confidential web client (code + PKCE), redirect REDIRECT_URI,
//                  secret CLIENT_SECRET (default "amsync-test-secret")
//   amsync-mobile  public native client (code + PKCE, RFC 8252)
// Dev interactions are on: any login is accepted and becomes the subject
// (the tests sign in with a member key such as M000001).
//
// `amsync` is kept in the provider's client store (its adapter) rather than
// in the static list, so that its secret can be rotated while the provider
// runs: POST /_test/client-secret with the new secret as the body. From
// then on the token endpoint accepts only the new secret.
import http from 'node:http';
import Provider from 'oidc-provider';

const redirect = process.env.REDIRECT_URI;
const postLogout = process.env.POST_LOGOUT_REDIRECT_URI;
if (!redirect || !postLogout) {
  console.error('REDIRECT_URI and POST_LOGOUT_REDIRECT_URI are required');
  process.exit(2);
}

const webClient = (secret) => ({
  client_id: 'amsync',
  client_secret: secret,
  redirect_uris: [redirect],
  post_logout_redirect_uris: [postLogout],
  grant_types: ['authorization_code'],
  response_types: ['code'],
});

const configuration = {
  clients: [
    {
      client_id: 'amsync-mobile',
      application_type: 'native',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://127.0.0.1/callback'],
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  pkce: { required: () => true },
  cookies: { keys: ['amsync-test-cookie-key'] },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return { sub: id, member_key: id }; } };
  },
  claims: { openid: ['sub'], member: ['member_key'] },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
};

/// The request's body as text.
function body(req) {
  return new Promise((resolve, reject) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => { text += chunk; });
    req.on('end', () => resolve(text));
    req.on('error', reject);
  });
}

const server = http.createServer();
server.listen(0, '127.0.0.1', async () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration);
  const clients = provider.Client.adapter;
  await clients.upsert('amsync', webClient(process.env.CLIENT_SECRET || 'amsync-test-secret'));
  const handle = provider.callback();
  server.on('request', async (req, res) => {
    if (req.method === 'POST' && req.url === '/_test/client-secret') {
      const secret = (await body(req)).trim();
      if (!secret) {
        res.writeHead(400).end('a secret is required');
        return;
      }
      await clients.upsert('amsync', webClient(secret));
      res.writeHead(204).end();
      return;
    }
    handle(req, res);
  });
  console.log(JSON.stringify({ issuer }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
