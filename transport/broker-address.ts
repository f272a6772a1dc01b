import type { Options } from 'amqplib';

/**
 * Where the broker is, from the environment. In the cluster the user and password come from a
 * Secret as separate variables (so they never sit inside a URL in a manifest); locally a single
 * HZZ_AMQP_URL is handier. There are no default credentials: a missing one is a configuration error.
 */
export interface BrokerAddress {
  /** What amqplib connects to: a URL, or the fields when they came separately. */
  target: string | Options.Connect;
  /** The address with the password masked, for logs and errors. */
  display: string;
}

const DEFAULT_HEARTBEAT_SECONDS = 10;

export function brokerFromUrl(url: string, heartbeatSeconds = DEFAULT_HEARTBEAT_SECONDS): BrokerAddress {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`broker URL is not a URL: ${maskPassword(url)}`);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') throw new Error(`broker URL must start with amqp:// or amqps:// (got ${parsed.protocol}//)`);
  // Heartbeats let both sides notice a dead TCP connection (a node gone, a partition) in seconds
  // instead of the kernel's minutes; a URL that sets its own keeps it.
  if (!parsed.searchParams.has('heartbeat')) parsed.searchParams.set('heartbeat', String(heartbeatSeconds));
  return { target: parsed.toString(), display: maskPassword(parsed.toString()) };
}

export function brokerFromEnv(env: NodeJS.ProcessEnv = process.env): BrokerAddress {
  const heartbeat = env.HZZ_AMQP_HEARTBEAT_SECONDS ? positiveNumber(env.HZZ_AMQP_HEARTBEAT_SECONDS, 'HZZ_AMQP_HEARTBEAT_SECONDS') : DEFAULT_HEARTBEAT_SECONDS;
  if (env.HZZ_AMQP_URL) return brokerFromUrl(env.HZZ_AMQP_URL, heartbeat);
  const hostname = env.HZZ_AMQP_HOST;
  if (!hostname) throw new Error('no broker configured: set HZZ_AMQP_URL, or HZZ_AMQP_HOST with HZZ_AMQP_USER and HZZ_AMQP_PASSWORD');
  const username = env.HZZ_AMQP_USER;
  const password = env.HZZ_AMQP_PASSWORD;
  if (!username || password === undefined) throw new Error('HZZ_AMQP_HOST is set but HZZ_AMQP_USER or HZZ_AMQP_PASSWORD is missing');
  const port = env.HZZ_AMQP_PORT ? positiveNumber(env.HZZ_AMQP_PORT, 'HZZ_AMQP_PORT') : 5672;
  const vhost = env.HZZ_AMQP_VHOST || '/';
  const protocol = env.HZZ_AMQP_TLS === 'true' ? 'amqps' : 'amqp';
  return {
    target: { protocol, hostname, port, username, password, vhost, heartbeat },
    display: `${protocol}://${username}:***@${hostname}:${port}/${encodeURIComponent(vhost)}`,
  };
}

export function maskPassword(url: string): string {
  return url.replace(/^(amqps?:\/\/[^:/@]*:)[^@]*@/i, '$1***@');
}

function positiveNumber(text: string, name: string): number {
  const n = Number(text);
  if (!(Number.isFinite(n) && n > 0)) throw new Error(`${name} must be a positive number (got '${text}')`);
  return n;
}
