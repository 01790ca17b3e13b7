/**
 * A small path router. Patterns are literal segments and `{Name}` parameters, optionally with a literal suffix in the
 * same segment (`/view/{ID}.html`); a parameter matches one non-empty segment. Routes are kept in a list that the
 * OpenAPI document is checked against.
 */
export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';

export interface Route<H> {
  method: Method;
  /** The pattern as written, e.g. "/api/v1/message/{ID}/part/{PartID}". */
  path: string;
  handler: H;
  regex: RegExp;
  names: string[];
}

export type RouteMatch<H> =
  | { kind: 'found'; route: Route<H>; params: Record<string, string> }
  | { kind: 'not-found' }
  | { kind: 'method-not-allowed'; allow: Method[] };

export class Router<H> {
  private readonly list: Route<H>[] = [];

  add(method: Method, path: string, handler: H): this {
    const names: string[] = [];
    const source = path
      .split('/')
      .map((segment) =>
        segment.replace(/\{([A-Za-z][A-Za-z0-9]*)\}|([^{}]+)/g, (_all, name: string | undefined, literal: string | undefined) => {
          if (name) {
            names.push(name);
            return '([^/]+?)';
          }
          return escapeRegex(literal ?? '');
        }),
      )
      .join('/');
    if (this.list.some((r) => r.method === method && r.path === path)) throw new Error(`route ${method} ${path} added twice`);
    this.list.push({ method, path, handler, regex: new RegExp(`^${source}$`), names });
    return this;
  }

  get(path: string, handler: H): this {
    return this.add('GET', path, handler);
  }
  post(path: string, handler: H): this {
    return this.add('POST', path, handler);
  }
  put(path: string, handler: H): this {
    return this.add('PUT', path, handler);
  }
  delete(path: string, handler: H): this {
    return this.add('DELETE', path, handler);
  }

  /** Every route, in the order added. */
  routes(): ReadonlyArray<Pick<Route<H>, 'method' | 'path'>> {
    return this.list;
  }

  match(method: string, pathname: string): RouteMatch<H> {
    const allow = new Set<Method>();
    const lookup = method === 'HEAD' ? 'GET' : method;
    for (const route of this.list) {
      const m = route.regex.exec(pathname);
      if (!m) continue;
      if (route.method !== lookup) {
        allow.add(route.method);
        if (route.method === 'GET') allow.add('HEAD');
        continue;
      }
      const params: Record<string, string> = {};
      for (let i = 0; i < route.names.length; i++) {
        let value: string;
        try {
          value = decodeURIComponent(m[i + 1]);
        } catch {
          return { kind: 'not-found' };
        }
        params[route.names[i]] = value;
      }
      return { kind: 'found', route, params };
    }
    return allow.size ? { kind: 'method-not-allowed', allow: [...allow] } : { kind: 'not-found' };
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^$()|[\]\\]/g, '\\$&');
}
