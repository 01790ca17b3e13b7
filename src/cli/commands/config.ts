/** posthorn config check: validate posthorn.toml (and flags) without starting anything. */
import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { dataDirOf, run } from '../options.js';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('check')
    .description('validate posthorn.toml without starting the server')
    .option('--data <dir>', 'data directory')
    .option('--config <file>', 'configuration file (default: <data>/posthorn.toml)')
    .option('--print', 'print the effective configuration as JSON')
    .action((opts: { data?: string; config?: string; print?: boolean }) =>
      run(() => {
        const { config: cfg, file } = loadConfig({ dataDir: dataDirOf(opts), configFile: opts.config });
        console.log(file ? `${file}: ok` : `no configuration file; defaults are valid`);
        if (opts.print) console.log(JSON.stringify(cfg, null, 2));
      }),
    );
}
