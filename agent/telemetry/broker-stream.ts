/**
 * The broker connection's transport, opened by the agent and handed to mqtt.js's MqttClient.
 *
 * `mqtt.connect()` loads the builders of every transport it knows on each first connect —
 * WebSocket (`ws`) and SOCKS (`socks`, `smart-buffer`, `ip-address`) whatever the URL says — and
 * the camera speaks only `mqtt://` and `mqtts://` (the config schema's pattern). Opening TCP/TLS
 * here keeps those out of the agent's memory (bench "agent RSS while recording", MQTT row). The
 * TLS handling is mqtt.js's own tls builder's: the host name is the SNI name unless it is an IP,
 * the peer must be authorized, and a TLS error before the handshake completes is the client's
 * error.
 */
import { connect as netConnect, isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import type { MqttClient } from 'mqtt';

export interface BrokerEndpoint {
  readonly secure: boolean;
  readonly host: string;
  readonly port: number;
}

/** Parses an `mqtt://host[:port]` or `mqtts://host[:port]` URL (IPv6 literals in brackets). */
export function brokerEndpoint(url: string): BrokerEndpoint {
  const u = new URL(url);
  if (u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') throw new Error(`'${url}' is not an mqtt:// or mqtts:// URL`);
  const secure = u.protocol === 'mqtts:';
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new Error(`'${url}' names no host`);
  return { secure, host, port: u.port ? Number(u.port) : secure ? 8883 : 1883 };
}

export interface BrokerTls {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly servername?: string;
}

/** A stream builder for `new MqttClient(builder, opts)`: one fresh connection per call. */
export function brokerStreamBuilder(ep: BrokerEndpoint, tls: BrokerTls): (client: MqttClient) => Duplex {
  return (client) => {
    if (!ep.secure) return netConnect({ host: ep.host, port: ep.port });
    const servername = tls.servername ?? (isIP(ep.host) === 0 ? ep.host : undefined);
    const sock = tlsConnect({
      host: ep.host, port: ep.port, rejectUnauthorized: true,
      ...(tls.ca ? { ca: tls.ca } : {}), ...(tls.cert ? { cert: tls.cert } : {}), ...(tls.key ? { key: tls.key } : {}),
      ...(servername ? { servername } : {}),
    });
    const onTlsError = (err: Error): void => {
      client.emit('error', err);
      sock.end();
    };
    sock.on('error', onTlsError);
    sock.on('secureConnect', () => {
      if (!sock.authorized) sock.emit('error', new Error(`TLS not authorized: ${String(sock.authorizationError)}`));
      else sock.removeListener('error', onTlsError);
    });
    return sock;
  };
}
