/**
 * Loading posthorn.toml: parse TOML, apply command-line overrides, validate against the schema. Any problem is a
 * ConfigError with one line naming the key, the value and what was expected.
 */
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseToml, TomlError } from 'smol-toml';
import type { z } from 'zod';
import { configSchema, type PosthornConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export const CONFIG_FILE_NAME = 'posthorn.toml';

/** Overrides from the command line, as dotted key paths ("listeners.smtp") to values; objects merge with the file's. */
export type ConfigOverrides = Record<string, unknown>;

export interface LoadedConfig {
  config: PosthornConfig;
  /** The file read, or null when none exists (all defaults). */
  file: string | null;
}

export function defaultConfigPath(dataDir: string): string {
  return join(dataDir, CONFIG_FILE_NAME);
}

export function loadConfig(options: {
  dataDir: string;
  configFile?: string;
  overrides?: ConfigOverrides;
  /** Where each override came from ("--smtp"), so an error names the flag rather than the file. */
  overrideLabels?: Record<string, string>;
}): LoadedConfig {
  const explicit = options.configFile !== undefined;
  const file = resolve(options.configFile ?? defaultConfigPath(options.dataDir));
  let raw: Record<string, unknown> = {};
  let used: string | null = null;
  if (existsSync(file)) {
    raw = parseConfigText(readFileSync(file, 'utf8'), file);
    used = file;
  } else if (explicit) {
    throw new ConfigError(`${file}: no such file`);
  }
  for (const [path, value] of Object.entries(options.overrides ?? {})) {
    if (value !== undefined) setPath(raw, path, value);
  }
  const result = configSchema.safeParse(raw);
  if (result.success) return { config: result.data, file: used };
  const issue = result.error.issues[0];
  const path = issue.path.map(String).join('.');
  const flag = Object.entries(options.overrideLabels ?? {}).find(([key]) => options.overrides?.[key] !== undefined && (path === key || path.startsWith(key + '.')));
  throw new ConfigError(`${flag ? flag[1] : (used ?? 'configuration')}: ${describeIssue(issue, raw)}`);
}

export function parseConfigText(text: string, source: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      throw new ConfigError(`${source}:${err.line}:${err.column}: TOML syntax error: ${err.message.split('\n')[0]}`);
    }
    throw err;
  }
}

export function validateConfig(raw: unknown, source: string): PosthornConfig {
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  throw new ConfigError(`${source}: ${describeIssue(result.error.issues[0], raw)}`);
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const key = [...path, issue.keys[0]].join('.');
    const parent = path.length ? `[${path.join('.')}]` : 'the top level';
    return `unknown key "${key}" (not a setting in ${parent}; see README "Configuration")`;
  }
  const key = path.join('.') || '(root)';
  const value = getPath(raw, path);
  const got = value === undefined ? 'nothing' : JSON.stringify(value);
  let expected = issue.message.replace(/^Invalid input: /, '');
  if (issue.code === 'invalid_value' && 'values' in issue) expected = `one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
  if (issue.code === 'too_small' && 'minimum' in issue) expected = `a value >= ${String(issue.minimum)}`;
  if (issue.code === 'too_big' && 'maximum' in issue) expected = `a value <= ${String(issue.maximum)}`;
  if (issue.code === 'invalid_type') expected = `expected ${issue.expected}`;
  return `key "${key}" has value ${got}: ${expected.startsWith('expected') ? expected : 'expected ' + expected}`;
}

function getPath(obj: unknown, path: string[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = Object.prototype.hasOwnProperty.call(cur, p) ? (cur as Record<string, unknown>)[p] : undefined;
  }
  return cur;
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    const next = Object.prototype.hasOwnProperty.call(cur, p) ? cur[p] : undefined;
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  const last = parts[parts.length - 1];
  const existing = Object.prototype.hasOwnProperty.call(cur, last) ? cur[last] : undefined;
  cur[last] = isPlainObject(existing) && isPlainObject(value) ? { ...existing, ...value } : value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
