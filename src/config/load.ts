// Reads the YAML config file. A missing file at the default path means "all defaults"; a missing
// file the user named explicitly is an error, since they meant something by naming it.
import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { hasErrno } from '../core/errors.js';
import { ConfigError, parseConfig, type Config } from './schema.js';

export const DEFAULT_CONFIG_PATH = '/etc/skiff/config.yaml';

export async function loadConfig(
  path: string | undefined,
  overrides: Partial<Config> = {},
): Promise<{ config: Config; source: string }> {
  const file = path ?? DEFAULT_CONFIG_PATH;
  let text: string | undefined;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (!(hasErrno(e, 'ENOENT') && path === undefined)) {
      throw new ConfigError('(file)', `cannot read ${file}: ${(e as Error).message}`);
    }
  }
  let doc: unknown;
  if (text !== undefined) {
    try {
      doc = parse(text);
    } catch (e) {
      throw new ConfigError('(file)', `${file} is not valid YAML: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { config: parseConfig(doc, overrides), source: text === undefined ? '(built-in defaults)' : file };
}
