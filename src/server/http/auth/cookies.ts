/** Cookie header parsing and the Set-Cookie value of a session cookie (HttpOnly, SameSite=Strict, Secure on TLS). */
export function readCookie(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export function sessionCookie(name: string, value: string, options: { secure: boolean; maxAgeSeconds: number; path?: string }): string {
  const parts = [`${name}=${value}`, `Path=${options.path ?? '/'}`, 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}

export function clearedCookie(name: string, options: { secure: boolean; path?: string }): string {
  return sessionCookie(name, '', { ...options, maxAgeSeconds: 0 });
}
