import { describe, expect, it } from 'vitest';
import { findRoutes, liveUpstreams, NOWHERE, PROBE_DIAL, renderSnippet, upstreamsOf, withUpstreams } from './routes.js';

const site = { id: 'shop.web', vhosts: ['shop.example'], servers: [
  { name: 'a', ip: '172.20.0.5', port: 80, state: 'ready' as const },
  { name: 'b', ip: '172.20.0.6', port: 80, state: 'drain' as const },
] };

/** Caddy's JSON for a site block that imports refit's snippet, beside the operator's own routes (trimmed from Caddy 2.6). */
const config = () => ({
  apps: { http: { servers: { srv0: { routes: [
    { match: [{ host: ['other.example'] }], handle: [{ handler: 'static_response', body: 'operator' }] },
    { match: [{ host: ['shop.example'] }], handle: [{ handler: 'subroute', routes: [
      { handle: [{ handler: 'static_response', status_code: 403 }], match: [{ header: { 'User-Agent': ['*badbot*'] } }] },
      { handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: PROBE_DIAL }] }], match: [{ header: { 'X-Refit-Probe': ['tok'], 'X-Refit-Route': ['refit_shop.web'] } }] },
      { handle: [{ handler: 'reverse_proxy', upstreams: [{ dial: NOWHERE }] }] },
    ] }] },
  ] } } } },
});

describe("caddy: refit's snippet and its routes in Caddy's running config", () => {
  it('the site proxies to the servers in rotation; the probe route keeps the drained ones referenced, after the pin', () => {
    expect(upstreamsOf(site)).toEqual({ site: ['172.20.0.5:80'], probe: [PROBE_DIAL, '172.20.0.6:80'] });
    expect(upstreamsOf({ ...site, servers: [] }).site).toEqual([NOWHERE]);
    const text = renderSnippet('refit_shop.web', site, 'tok');
    expect(text).toContain('\theader X-Refit-Route refit_shop.web\n');
    expect(text).toContain(`reverse_proxy @refit_probe_refit_shop_web ${PROBE_DIAL} 172.20.0.6:80 {\n\tlb_policy first\n`);
    expect(text).toContain('\nreverse_proxy 172.20.0.5:80\n');
  });

  it("finds the pair by the probe route's X-Refit-Route matcher, and changes only their upstreams", () => {
    const live = config();
    const found = findRoutes(live, 'refit_shop.web')!;
    expect(found.path).toEqual(['apps', 'http', 'servers', 'srv0', 'routes', 1, 'handle', 0, 'routes']);
    expect([found.probe, found.site]).toEqual([1, 2]);
    expect(liveUpstreams(found)).toEqual({ site: [NOWHERE], probe: [PROBE_DIAL] });
    const next = withUpstreams(found, upstreamsOf(site));
    expect(next[0]).toEqual(found.routes[0]);
    expect(next[1]!.match).toEqual(found.routes[1]!.match);
    expect(liveUpstreams({ ...found, routes: next })).toEqual(upstreamsOf(site));
    expect(findRoutes(live, 'refit_blog.web')).toBeNull();
  });
});
