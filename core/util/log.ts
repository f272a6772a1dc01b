/**
 * Structured progress lines on stderr (stdout stays free for results). One JSON object a line, so a
 * test, `kubectl logs` piped to jq, or a log collector can read them without a parser of our own.
 */
export type Log = (msg: string, fields?: Record<string, unknown>) => void;

export function jsonLog(component: string, stream: NodeJS.WritableStream = process.stderr): Log {
  return (msg, fields = {}) => {
    stream.write(JSON.stringify({ time: new Date().toISOString(), component, msg, ...fields }) + '\n');
  };
}

export const silentLog: Log = () => {};
