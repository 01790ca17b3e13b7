// Runs only the parse command, so its test does not depend on the other commands.
import { Command } from 'commander';
import { registerParseCommand } from '../../../src/cli/commands/parse.js';

const program = new Command().name('posthorn');
registerParseCommand(program);
await program.parseAsync(process.argv);
