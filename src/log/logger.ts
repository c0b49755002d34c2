// One logger for the daemon, structured: every line carries its fields (rpc, req, pod, container),
// as text for people or JSON for collectors. Child loggers add fields, never change the sink.
import winston from 'winston';

export type Logger = winston.Logger;
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const RESERVED = new Set(['level', 'message', 'timestamp']);

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (v instanceof Error) return JSON.stringify(v.message);
  if (typeof v === 'bigint') return v.toString();
  return JSON.stringify(v) ?? String(v);
}

const textFormat = winston.format.printf((info) => {
  const fields = Object.keys(info)
    .filter((k) => !RESERVED.has(k) && typeof k === 'string')
    .map((k) => `${k}=${fieldText(info[k])}`)
    .join(' ');
  const msg = String(info.message);
  return `${String(info.timestamp)} ${info.level.padEnd(5)} ${msg}${fields ? ' ' + fields : ''}`;
});

/** JSON cannot hold bigint or Error: give the JSON format values it can print. */
const jsonSafe = winston.format((info) => {
  for (const k of Object.keys(info)) {
    const v = info[k];
    if (typeof v === 'bigint') info[k] = v.toString();
    else if (v instanceof Error) info[k] = v.message;
  }
  return info;
});

export function createLogger(opts: { level: LogLevel; format: LogFormat; stream?: NodeJS.WritableStream }): Logger {
  const format =
    opts.format === 'json'
      ? winston.format.combine(winston.format.timestamp(), jsonSafe(), winston.format.json())
      : winston.format.combine(winston.format.timestamp(), textFormat);
  const transport = opts.stream
    ? new winston.transports.Stream({ stream: opts.stream })
    : new winston.transports.Console({ stderrLevels: [...LOG_LEVELS] });
  return winston.createLogger({ level: opts.level, levels: winston.config.npm.levels, format, transports: [transport] });
}

/** A logger that drops everything: for unit tests and for code paths that have nobody to tell. */
export function silentLogger(): Logger {
  return winston.createLogger({ silent: true, transports: [new winston.transports.Console({ silent: true })] });
}
