// A RabbitMQ node of a test's own, for what the shared node must never suffer: SIGKILL and a restart
// on the same data. Everything RabbitMQ reads is set through its environment (node name, ports, data
// and log folders, config, plugins, Erlang cookie) and lives in one temp dir, so the shared node on
// 5672, its config in /etc/rabbitmq and its cookie are never touched. Ports are free loopback ports,
// chosen once: a restarted node listens where its clients were pointed.
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { connect } from 'amqplib';
import { freePorts } from './control-plane.js';
import { launch, removeOnExit, tail, waitFor } from './processes.js';

// The packaged script without the wrapper that switches to the rabbitmq user and keeps a shell
// between us and the VM: with NOTIFY_SOCKET set it execs the Erlang VM, so the child we hold is
// beam.smp itself and a SIGKILL to it is a SIGKILL to the broker.
const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const READY_TIMEOUT_MS = 90_000;

export interface RabbitNode {
  /** amqp://guest:guest@127.0.0.1:PORT/ (the default vhost). */
  url: string;
  nodename: string;
  /** The node's own log file, for a failing test's message. */
  log: string;
  /** The broker's OS pid while it runs. */
  pid(): number | undefined;
  /** SIGKILL to the VM; resolves once it has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same data dir and ports; resolves once it accepts AMQP connections. */
  start(): Promise<void>;
  /** Kills it and removes its folder. */
  dispose(): Promise<void>;
}

/** `config`: rabbitmq.conf lines of the test's own, after the listener. */
export async function startRabbitNode(label: string, config: readonly string[] = []): Promise<RabbitNode> {
  if (!existsSync(RABBITMQ_SERVER)) throw new Error(`${RABBITMQ_SERVER} not found: install rabbitmq-server (scripts/setup.sh --test)`);
  const dir = await mkdtemp(join(tmpdir(), `hzz-rabbit-${label}-`));
  const forgetDir = removeOnExit(dir);
  const [amqpPort, distPort] = await freePorts(2);
  const nodename = `hzz-${label}-${process.pid}@localhost`;
  const home = join(dir, 'home');
  await Promise.all(['home', 'mnesia', 'log'].map((d) => mkdir(join(dir, d))));
  await writeFile(join(home, '.erlang.cookie'), randomBytes(16).toString('hex'), { mode: 0o400 });
  // guest may connect over loopback only, which is all a test uses; no plugins, so no management
  // listener to clash with the shared node's.
  await writeFile(join(dir, 'rabbitmq.conf'), [`listeners.tcp.1 = 127.0.0.1:${amqpPort}`, ...config, ''].join('\n'));
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  await writeFile(join(dir, 'rabbitmq-env.conf'), '');
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    NOTIFY_SOCKET: join(dir, 'no-systemd'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'node.pid'),
  };
  const url = `amqp://guest:guest@127.0.0.1:${amqpPort}/`;
  const consoleLog = join(dir, 'console.log');
  const log = join(dir, 'log', `${nodename}.log`);
  let child: ChildProcess | undefined;

  const running = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const kill = async (): Promise<void> => {
    if (!child || !running()) return;
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  const start = async (): Promise<void> => {
    if (running()) throw new Error(`RabbitMQ node ${nodename} is already running`);
    child = launch(RABBITMQ_SERVER, [], consoleLog, env);
    await waitFor(`RabbitMQ node ${nodename} to accept AMQP on ${amqpPort}`, async () => {
      const conn = await connect(url);
      await conn.close();
      return true;
    }, [{ child, name: nodename, log: consoleLog }], Date.now() + READY_TIMEOUT_MS);
    // A shell left between us and the VM would take the SIGKILL and leave the broker running.
    const comm = (await readFile(`/proc/${child.pid}/comm`, 'utf8')).trim();
    if (comm !== 'beam.smp') throw new Error(`RabbitMQ node ${nodename}: the process started is '${comm}', not the Erlang VM`);
  };
  try {
    await start();
  } catch (err) {
    await kill();
    throw new Error(`${(err as Error).message}\n--- ${log}:\n${tail(log)}`);
  }
  return {
    url, nodename, log,
    pid: () => (running() ? child!.pid : undefined),
    kill, start,
    dispose: async () => {
      await kill();
      await rm(dir, { recursive: true, force: true });
      forgetDir();
    },
  };
}
