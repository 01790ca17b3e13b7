/** Turn a routing decision into the ordered list of concrete targets (host, address, port, TLS policy) to try. */
import { resolveMxHosts, type MxResolver } from './mx.js';
import type { Destination } from './route.js';
import type { DeliveryTarget } from './transport.js';

export interface TargetOptions {
  resolver: MxResolver;
  /** The recipient domain requires TLS with a verified certificate. */
  requireTls: boolean;
  /** Port for MX hosts (25; tests route elsewhere with static routes). */
  mxPort: number;
  maxMxHosts: number;
  random: () => number;
}

export async function resolveTargets(dest: Destination, options: TargetOptions): Promise<DeliveryTarget[]> {
  const tls: DeliveryTarget['tls'] = options.requireTls ? 'starttls' : 'opportunistic';
  switch (dest.kind) {
    case 'smarthost': {
      const s = dest.smarthost;
      const target: DeliveryTarget = {
        host: s.host,
        address: s.host,
        port: s.port,
        tls: s.tls === 'opportunistic' && options.requireTls ? 'starttls' : s.tls,
        verifyCertificate: s.verifyCertificate || options.requireTls,
      };
      if (s.auth) target.auth = s.auth;
      return [target];
    }
    case 'static':
      return [{ host: dest.route.host, address: dest.route.host, port: dest.route.port, tls, verifyCertificate: options.requireTls }];
    case 'mx': {
      const hosts = await resolveMxHosts(options.resolver, dest.domain, { random: options.random, maxHosts: options.maxMxHosts });
      return hosts.flatMap((h) =>
        h.addresses.map((address) => ({ host: h.host, address, port: options.mxPort, tls, verifyCertificate: options.requireTls })),
      );
    }
  }
}
