/**
 * Until when a lease surely lives, by this process's own clock.
 *
 * etcd renews a lease when a keepalive reaches it, for the lease's TTL from
 * then. So a keepalive sent at time t and answered proves the lease lives
 * until at least t + TTL: that, not the time the answer came, is what this
 * clock keeps. When etcd stops answering (paused, partitioned, lost quorum)
 * the etcd3 client notices late (about two TTLs); a leader must stop acting
 * before its lease can have expired and a successor been elected, so it
 * steps down at `expiresAt` by this clock, whatever the client says.
 *
 * Keepalive answers come back on one stream in the order the requests were
 * sent, so each answer is matched with the oldest unanswered request; a new
 * stream starts with none outstanding.
 */
export class LeaseClock {
  private readonly sent: number[] = [];
  private renewedAt: number;

  constructor(
    private readonly ttlMs: number,
    /** When the grant request was sent (the lease lives at least TTL from then). */
    grantSentAt: number,
    private readonly now: () => number = Date.now,
  ) {
    this.renewedAt = grantSentAt;
  }

  /** A keepalive request was sent. */
  fired(): void {
    this.sent.push(this.now());
  }

  /** A keepalive stream was (re)opened: requests sent on the old one will not be answered. */
  restarted(): void {
    this.sent.length = 0;
  }

  /** etcd answered the oldest outstanding keepalive (the lease was renewed). */
  answered(): void {
    const sentAt = this.sent.shift();
    if (sentAt !== undefined) this.renewedAt = Math.max(this.renewedAt, sentAt);
  }

  /** The time until which the lease surely lives. */
  get expiresAt(): number {
    return this.renewedAt + this.ttlMs;
  }
}
