import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import type { DnsListener } from './dns/dns-server.js';
import type { NetnsRef } from './exec-net-host.js';
import { netnsExecPrefix } from './exec-net-host.js';

// Node cannot setns(2). A short-lived child started inside the namespace binds the sockets and
// hands them back over the IPC channel (the same mechanism as the cluster module); they keep
// their namespace for life, so this process serves DNS on a network it is not part of.
const HELPER = `
const dgram = require('node:dgram'); const net = require('node:net');
const [address, port] = [process.argv[1], Number(process.argv[2])];
const fail = (e) => process.send({ error: String(e && e.message || e) }, () => process.exit(1));
const udp = dgram.createSocket('udp4');
udp.on('error', fail);
udp.bind({ address, port, exclusive: true }, () => {
  process.send({ kind: 'udp' }, udp, () => {
    const tcp = net.createServer();
    tcp.on('error', fail);
    tcp.listen({ host: address, port, exclusive: true }, () => {
      process.send({ kind: 'tcp' }, tcp, () => process.exit(0));
    });
  });
});
`;

/** Binds UDP and TCP on address:port in the given network namespace (here when ns is null). */
export async function openDnsListener(
  ns: NetnsRef | null,
  address: string,
  port: number,
  timeoutMs = 10_000,
): Promise<DnsListener> {
  if (ns === null) return bindHere(address, port);
  const [cmd, ...args] = netnsExecPrefix(ns) as [string, ...string[]];
  const child = spawn(cmd, [...args, process.execPath, '-e', HELPER, address, String(port)], {
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise<DnsListener>((resolve, reject) => {
    let udp: dgram.Socket | undefined;
    let tcp: net.Server | undefined;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`opening ${address}:${port} in a namespace timed out`));
    }, timeoutMs);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      udp?.close();
      tcp?.close();
      reject(err);
    };
    child.on('message', (m: { kind?: string; error?: string }, handle: unknown) => {
      if (m.error !== undefined) return fail(new Error(`binding ${address}:${port}: ${m.error}`));
      if (m.kind === 'udp') udp = handle as dgram.Socket;
      if (m.kind === 'tcp') tcp = handle as net.Server;
      if (udp && tcp) {
        clearTimeout(timer);
        resolve({ udp, tcp });
      }
    });
    child.on('error', fail);
    child.on('exit', (code) => {
      if (!(udp && tcp)) fail(new Error(`socket helper exited ${code}: ${stderr.trim()}`));
    });
  });
}

function bindHere(address: string, port: number): Promise<DnsListener> {
  return new Promise((resolve, reject) => {
    const udp = dgram.createSocket('udp4');
    udp.once('error', reject);
    udp.bind({ address, port, exclusive: true }, () => {
      const bound = (udp.address() as { port: number }).port;
      const tcp = net.createServer();
      tcp.once('error', (err) => {
        udp.close();
        reject(err);
      });
      tcp.listen({ host: address, port: bound }, () => resolve({ udp, tcp }));
    });
  });
}
