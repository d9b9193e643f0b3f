/**
 * Forwards the recording ffmpeg's RTP copy (127.0.0.1:tapPort) to central's media gateway while a
 * live view is open, packet by packet, outbound from the camera (so it passes NAT and carrier-grade
 * NAT, which let replies in but never an inbound session). It sits between ffmpeg and the network
 * on purpose: ffmpeg only ever writes to loopback, so a gateway that is slow, gone or unreachable
 * shows up here as send errors — counted, never felt by the encoder. Outside a session nothing is
 * bound to the tap port and the kernel drops ffmpeg's packets.
 */
import { createSocket, type Socket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { once } from 'node:events';

export interface RelayCounters {
  packets: number;
  bytes: number;
  /** Sends that failed (gateway unreachable: ICMP port/host unreachable reported on the socket). */
  sendErrors: number;
}

export class RtpRelay {
  readonly counters: RelayCounters = { packets: 0, bytes: 0, sendErrors: 0 };
  private rx: Socket | undefined;
  private tx: Socket | undefined;

  constructor(
    private readonly tapPort: number,
    private readonly gateway: { readonly host: string; readonly port: number },
  ) {}

  /** Binds the tap port and connects to the gateway; throws when either fails (nothing left open). */
  async start(): Promise<void> {
    // Resolved once: a DNS lookup per packet would cost more than the forwarding itself.
    const { address, family } = await lookup(this.gateway.host);
    const tx = (this.tx = createSocket(family === 6 ? 'udp6' : 'udp4'));
    const rx = (this.rx = createSocket({ type: 'udp4', reuseAddr: false }));
    // Connected: ICMP errors from the gateway's host come back as send errors (counted) instead of vanishing.
    tx.on('error', () => this.counters.sendErrors++);
    rx.on('error', () => undefined);
    try {
      tx.connect(this.gateway.port, address);
      await once(tx, 'connect');
      rx.bind(this.tapPort, '127.0.0.1');
      await once(rx, 'listening');
    } catch (e) {
      this.close();
      throw e;
    }
    rx.on('message', (msg) => {
      this.counters.packets++;
      this.counters.bytes += msg.length;
      tx.send(msg, (err) => {
        if (err) this.counters.sendErrors++;
      });
    });
  }

  close(): void {
    for (const s of [this.rx, this.tx]) {
      try {
        s?.close();
      } catch {
        // already closed
      }
    }
    this.rx = this.tx = undefined;
  }
}
