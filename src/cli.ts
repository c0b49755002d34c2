// Command-line flags. Flags win over the config file, which wins over the built-in defaults.
import { parseArgs } from 'node:util';
import type { Config } from './config/schema.js';

export interface Cli {
  readonly positionals: readonly string[];
  readonly configPath: string | undefined;
  readonly overrides: Partial<Config>;
  readonly help: boolean;
  readonly version: boolean;
}

export const USAGE = `Usage: skiffd [options]

Runs the Skiff CRI runtime in the foreground.

       skiffd images import FILE [options]

Loads the images of an OCI archive or a \`docker save\` archive (tar, or tar.gz) into the image
store: through the running daemon when there is one, else directly.

Options:
  --config FILE        YAML config (default /etc/skiff/config.yaml; a missing default file means all defaults)
  --root DIR           persistent state (default /var/lib/skiff)
  --state DIR          volatile state (default /run/skiff)
  --socket PATH        CRI socket (default <state>/skiff.sock)
  --log-level LEVEL    error | warn | info | debug (default info)
  --log-format FORMAT  text | json (default text)
  --version            print the version and exit
  -h, --help           print this help and exit
`;

export class UsageError extends Error {}

export function parseCli(argv: string[], allowPositionals = false): Cli {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals,
      options: {
        config: { type: 'string' },
        root: { type: 'string' },
        state: { type: 'string' },
        socket: { type: 'string' },
        'log-level': { type: 'string' },
        'log-format': { type: 'string' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message.split('\n')[0] ?? String(e));
  }
  const v = parsed.values;
  const overrides: Record<string, unknown> = {
    root: v.root,
    state: v.state,
    socket: v.socket,
    logLevel: v['log-level'],
    logFormat: v['log-format'],
  };
  return {
    positionals: parsed.positionals,
    configPath: v.config,
    overrides: overrides as Partial<Config>,
    help: v.help === true,
    version: v.version === true,
  };
}

/** One line on stderr and an exit status: what a person at a terminal needs when a command fails. */
export function fatal(message: string, code: number): number {
  process.stderr.write(`skiffd: ${message}\n`);
  return code;
}
