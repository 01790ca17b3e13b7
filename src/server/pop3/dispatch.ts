/**
 * Command table: which keyword is valid in which state, how many arguments it takes, and its handler. A command in
 * the wrong state, an unknown one or a bad argument count gets -ERR and the session goes on (RFC 1939 section 3).
 */
import { parseCommand, type Pop3Command } from '../../protocol/pop3/command.js';
import { err } from '../../protocol/pop3/response.js';
import type { Pop3Session } from './session.js';
import type { SessionState } from './state.js';
import { apop, pass, quitAuthorization, user } from './commands/authorization.js';
import { auth } from './commands/sasl.js';
import { capa, stls, utf8 } from './commands/capabilities.js';
import { dele, list, noop, quitTransaction, rset, stat, uidl } from './commands/transaction.js';
import { retr, top } from './commands/retrieve.js';

type Handler = (session: Pop3Session, command: Pop3Command) => void | Promise<void>;

interface CommandSpec {
  /** Allowed argument counts, inclusive; PASS/USER/AUTH check their own. */
  minArgs: number;
  maxArgs: number;
  authorization?: Handler;
  transaction?: Handler;
}

const ANY = Number.MAX_SAFE_INTEGER;

const COMMANDS: Record<string, CommandSpec> = {
  USER: { minArgs: 1, maxArgs: ANY, authorization: user },
  PASS: { minArgs: 1, maxArgs: ANY, authorization: pass },
  APOP: { minArgs: 2, maxArgs: 2, authorization: apop },
  AUTH: { minArgs: 0, maxArgs: 2, authorization: auth },
  STLS: { minArgs: 0, maxArgs: 0, authorization: stls },
  UTF8: { minArgs: 0, maxArgs: 0, authorization: utf8 },
  CAPA: { minArgs: 0, maxArgs: 0, authorization: capa, transaction: capa },
  QUIT: { minArgs: 0, maxArgs: 0, authorization: quitAuthorization, transaction: quitTransaction },
  STAT: { minArgs: 0, maxArgs: 0, transaction: stat },
  LIST: { minArgs: 0, maxArgs: 1, transaction: list },
  UIDL: { minArgs: 0, maxArgs: 1, transaction: uidl },
  RETR: { minArgs: 1, maxArgs: 1, transaction: retr },
  TOP: { minArgs: 2, maxArgs: 2, transaction: top },
  DELE: { minArgs: 1, maxArgs: 1, transaction: dele },
  NOOP: { minArgs: 0, maxArgs: 0, transaction: noop },
  RSET: { minArgs: 0, maxArgs: 0, transaction: rset },
};

function handlerFor(spec: CommandSpec, state: SessionState): Handler | undefined {
  if (state.kind === 'authorization') return spec.authorization;
  if (state.kind === 'transaction') return spec.transaction;
  return undefined;
}

export function dispatch(session: Pop3Session, line: Buffer): void | Promise<void> {
  const parsed = parseCommand(line);
  if (!parsed.ok) {
    session.write(err(null, parsed.error));
    return;
  }
  const command = parsed.command;
  const spec = Object.prototype.hasOwnProperty.call(COMMANDS, command.keyword) ? COMMANDS[command.keyword] : undefined;
  if (!spec) {
    session.write(err(null, 'unknown command'));
    return;
  }
  if (command.keyword !== 'AUTH' && line.length + 2 > session.ctx.maxCommandLine) {
    session.write(err(null, 'line too long'));
    return;
  }
  const handler = handlerFor(spec, session.state);
  if (!handler) {
    session.write(err(null, `${command.keyword} not valid in this state`));
    return;
  }
  if (command.args.length < spec.minArgs || command.args.length > spec.maxArgs) {
    session.write(err(null, `wrong number of arguments for ${command.keyword}`));
    return;
  }
  return handler(session, command);
}
