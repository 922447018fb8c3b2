#!/usr/bin/env python3
"""Issue 7 event-loop attacks against a paperboyd binary, with figures for bench/RESULTS.md.

usage: event_loop_attacks.py PAPERBOYD [unsub|leave|sigterm|sigterm1|parked|parkedkill|orphan|leave100k|sigterm1m|deadletters]...
Each scenario starts its own daemon on a free port and prints one result line.
"""
import fcntl, multiprocessing, os, signal, socket, struct, subprocess, sys, threading, time, re, statistics


def frame(body): return struct.pack('>I', len(body)) + body
def s16(b): return struct.pack('>H', len(b)) + b
def hello(name=b't'): return frame(b'\x00PB\x01' + s16(name) + s16(b''))
def sub(ch, flags=0, prefetch=0, req=0): return frame(b'\x02' + struct.pack('>IBH', req, flags, prefetch) + s16(ch))
def unsub(ch, req=0): return frame(b'\x03' + struct.pack('>I', req) + s16(ch))
def pub(ch, payload, req=0): return frame(b'\x04' + struct.pack('>I', req) + s16(ch) + s16(b'') + payload)
def ping(token): return frame(b'\x0a' + struct.pack('>Q', token))
def nack(delivery): return frame(b'\x07' + struct.pack('>Q', delivery))


class Client:
    def __init__(self, port):
        self.s = socket.create_connection(('127.0.0.1', port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b''
        self.s.sendall(hello())
        self.expect(0x01)

    def frames(self):
        while True:
            at = 0
            while len(self.buf) - at >= 4:
                n = struct.unpack_from('>I', self.buf, at)[0]
                if len(self.buf) - at < 4 + n: break
                body = self.buf[at + 4:at + 4 + n]
                at += 4 + n
                yield body
            self.buf = self.buf[at:]
            data = self.s.recv(1 << 20)
            if not data: raise EOFError
            self.buf += data

    def expect(self, op):
        for body in self.frames():
            if body[0] == op: return body

    def ping_pong(self, token=7):
        self.s.sendall(ping(token))
        self.expect(0x0b)


def start(binary, *flags):
    p = subprocess.Popen([binary, '--port', '0', '--bind', '127.0.0.1', *flags],
                         stderr=subprocess.PIPE, text=True)
    p.log_lines = [0, 0]  # lines, bytes
    def drain():
        for line in p.stderr:
            p.log_lines[0] += 1; p.log_lines[1] += len(line)
    for line in p.stderr:
        m = re.search(r'server.listening .* port=(\d+)', line)
        if m:
            threading.Thread(target=drain, daemon=True).start()
            return p, int(m.group(1))
    raise RuntimeError('daemon did not start')


def rtt_ms(port):
    t = time.monotonic()
    c = Client(port); c.ping_pong(); c.s.close()
    return (time.monotonic() - t) * 1000


def fds(pid): return len(os.listdir(f'/proc/{pid}/fd'))
def rss_mib(pid):
    for line in open(f'/proc/{pid}/status'):
        if line.startswith('VmRSS:'): return int(line.split()[1]) / 1024


def unsub_flood(binary):
    d, port = start(binary)
    a = Client(port)
    a.s.sendall(b''.join(sub(b'/topic/held-%d' % i) for i in range(10000)))
    a.ping_pong()
    flood = unsub(b'/topic/not-held') * 20000
    stop = False
    def run():
        while not stop: a.s.sendall(flood)
    t = threading.Thread(target=run); t.start()
    time.sleep(0.3)
    trips = [rtt_ms(port) for _ in range(20)]
    stop = True; t.join(); d.kill()
    print(f'unsub-flood: bystander connect+ping median {statistics.median(trips):.1f} ms, max {max(trips):.1f} ms')


def held_consumer(binary, queues, per_queue, *flags):
    d, port = start(binary, *flags)
    c = Client(port)
    c.s.sendall(b''.join(sub(b'/queue/j-%d' % q, 1, per_queue) for q in range(queues)))
    c.ping_pong()
    p = Client(port)
    p.s.sendall(b''.join(pub(b'/queue/j-%d' % q, b'x') for _ in range(per_queue) for q in range(queues)))
    p.ping_pong()
    got = 0
    for body in c.frames():
        if body[0] == 0x05:
            got += 1
            if got == queues * per_queue: break
    return d, port, c


def leave(binary, queues=5000, per_queue=20):
    d, port, c = held_consumer(binary, queues, per_queue)
    by = Client(port)
    worst = 0.0
    c.s.close()
    t_end = time.monotonic() + 3
    while time.monotonic() < t_end:
        t = time.monotonic(); by.ping_pong(); worst = max(worst, (time.monotonic() - t) * 1000)
    d.kill()
    print(f'leave {queues}x{per_queue} unacked: bystander worst ping round trip {worst:.1f} ms')


def sigterm(binary, queues=5000, per_queue=20):
    d, port, c = held_consumer(binary, queues, per_queue)
    t = time.monotonic(); d.terminate(); d.wait(60)
    print(f'sigterm with {queues}x{per_queue} unacked: exit after {(time.monotonic() - t) * 1000:.0f} ms (grace 2000 ms)')


SIOCOUTQNSD = 0x894B  # bytes in a socket's send queue not yet sent


def open_parked_publishers(port, n, ready=None, pubs_each=192):
    """n publishers that each send `pubs_each` 16 KiB PUBs (3 MiB) to a full queue, as much as
    their socket takes: the daemon stops reading them, and what it has not read stays in their
    own send buffers."""
    big = pub(b'/queue/full', b'p' * 16384) * pubs_each
    pubs = []
    for _ in range(n):
        c = Client(port); c.s.setblocking(False)
        try: c.s.send(big)
        except BlockingIOError: pass
        pubs.append(c)
    time.sleep(1.5)
    unsent = sum(struct.unpack('i', fcntl.ioctl(c.s.fileno(), SIOCOUTQNSD, b'\0' * 4))[0] > 0
                 for c in pubs)
    if ready: ready.send(unsent)
    return pubs, unsent


def hold_parked_publishers(port, n, ready):
    pubs = open_parked_publishers(port, n, ready)
    time.sleep(3600)  # until SIGKILLed


def parked(binary, killed=False):
    """100 publishers parked on a full queue close (or their process is SIGKILLed); how long
    until the daemon has reaped them all, fds and VmRSS."""
    d, port = start(binary, '--channel-backlog', '1')
    time.sleep(0.2)
    f0, r0 = fds(d.pid), rss_mib(d.pid)
    if killed:
        got, sent = multiprocessing.Pipe(False)
        holder = multiprocessing.Process(target=hold_parked_publishers, args=(port, 100, sent))
        holder.start()
        unsent = got.recv()
    else:
        pubs, unsent = open_parked_publishers(port, 100)
    f1, r1 = fds(d.pid), rss_mib(d.pid)
    if killed:
        os.kill(holder.pid, signal.SIGKILL); holder.join()
    else:
        for c in pubs: c.s.close()
    t = time.monotonic()
    while fds(d.pid) > f0 and time.monotonic() - t < 15: time.sleep(0.05)
    took = time.monotonic() - t
    how = 'SIGKILLed' if killed else 'closed'
    print(f'parked publishers {how} ({unsent} of 100 with PUBs unsent in their own socket): fds {f0} -> {f1} -> '
          f'{fds(d.pid)} after {took:.1f} s; VmRSS {r0:.0f} -> {r1:.0f} -> {rss_mib(d.pid):.0f} MiB')
    d.kill()


def orphan(binary, limit=400):
    """One publisher parked on a full queue closes with PUBs unsent in its own socket: follow its
    orphaned socket (ss) until the daemon reaps the connection or `limit` seconds pass."""
    d, port = start(binary, '--channel-backlog', '1')
    time.sleep(0.2)
    f0 = fds(d.pid)
    # More than the daemon reads ahead plus both sockets' buffers (4-5 MB each, autotuned).
    pubs, unsent = open_parked_publishers(port, 1, pubs_each=600)
    c = pubs[0]
    local = c.s.getsockname()[1]
    def state():
        lines = subprocess.run(['ss', '-tnoi', 'state', 'all', f'sport = :{local}'],
                               capture_output=True, text=True).stdout.splitlines()[1:]
        words = ' '.join(lines).split()
        backoff = next((w.split(':')[1] for w in words if w.startswith('backoff:')), '-')
        return (words[0] if words else 'gone'), backoff
    c.s.close()
    t = time.monotonic(); seen = None
    while fds(d.pid) > f0 and time.monotonic() - t < limit:
        now = state()
        if now != seen: print(f'  {time.monotonic() - t:6.1f} s: publisher socket {now[0]} backoff {now[1]}'); seen = now
        time.sleep(0.5)
    took = time.monotonic() - t
    print(f'orphan ({unsent} of 1 with PUBs unsent): ' +
          (f'reaped after {took:.1f} s' if fds(d.pid) <= f0 else f'not reaped after {limit} s'))
    d.kill()


def bystander_trips(port, seconds, during):
    """Worst PING round trip of a connected client and worst connect+HELLO+PING of new ones while
    `during` runs (started once the bystander is ready); returns (ping ms, connect ms)."""
    by = Client(port)
    worst = [0.0, 0.0]
    stop = False
    def watch():
        while not stop:
            t = time.monotonic(); by.ping_pong(); worst[0] = max(worst[0], (time.monotonic() - t) * 1000)
            worst[1] = max(worst[1], rtt_ms(port))
    w = threading.Thread(target=watch); w.start()
    during()
    t_end = time.monotonic() + seconds
    while time.monotonic() < t_end and w.is_alive(): time.sleep(0.05)
    stop = True; w.join()
    return worst


def count_msgs(c, n):
    got = 0
    for body in c.frames():
        if body[0] == 0x05:
            got += 1
            if got == n: return got


def leave_100k(binary, queues=2, total=100000):
    """One manual-ack consumer holds `total` unacked over `queues` queues, then closes; another
    consumer gets them all back while a bystander measures its round trips."""
    d, port = start(binary)
    per_queue = total // queues
    c = Client(port)
    c.s.sendall(b''.join(sub(b'/queue/hoard-%d' % q, 1, per_queue) for q in range(queues)))
    c.ping_pong()
    p = Client(port)
    batch = b''.join(pub(b'/queue/hoard-%d' % q, b'x') for q in range(queues))
    p.s.sendall(batch * per_queue)
    p.ping_pong()
    count_msgs(c, total)
    r = Client(port)
    r.s.sendall(b''.join(sub(b'/queue/hoard-%d' % q) for q in range(queues)))
    r.ping_pong()
    # The receiver runs in a process of its own: a thread would share the bystander's GIL.
    got, sent = multiprocessing.Pipe(False)
    def receive():
        t = time.monotonic(); n = count_msgs(r, total); sent.send((n, time.monotonic() - t))
    rp = multiprocessing.Process(target=receive)
    def leave():
        c.s.close(); rp.start()
    ping, connect = bystander_trips(port, 3, leave)
    n, took = got.recv() if got.poll(30) else (0, 30.0)
    rp.join(1)
    d.kill()
    print(f'leave with {total} unacked ({queues} subs): bystander worst ping {ping:.1f} ms, '
          f'worst connect+ping {connect:.1f} ms; other consumer got {n} in {took:.1f} s')


def sigterm_1m(binary, queues=10, per_queue=100000):
    """A million one-byte messages wait in queue backlogs; SIGTERM, time to exit."""
    d, port = start(binary)
    p = Client(port)
    for q in range(queues):
        p.s.sendall(pub(b'/queue/deep-%d' % q, b'x') * per_queue)
    p.ping_pong()
    rss = rss_mib(d.pid)
    t = time.monotonic(); d.terminate(); rc = d.wait(60)
    print(f'sigterm with {queues}x{per_queue} queued (VmRSS {rss:.0f} MiB): exit {rc} after '
          f'{(time.monotonic() - t) * 1000:.0f} ms (grace 2000 ms)')


def dead_letters(binary, messages=20000, size=10240, seconds=10):
    """A manual-ack consumer NACKs everything for `seconds` while a publisher keeps its queue
    full of 10 KiB messages: each goes to `.dead` after --max-redeliveries; RSS and log lines."""
    d, port = start(binary, '--channel-backlog-bytes', '1048576')
    time.sleep(0.2)
    r0, lines0 = rss_mib(d.pid), d.log_lines[0]
    c = Client(port)
    c.s.sendall(sub(b'/queue/dl', 1, 64))
    c.ping_pong()
    p = Client(port)
    def publish():
        try: p.s.sendall(pub(b'/queue/dl', b'd' * size) * messages)
        except OSError: pass
    threading.Thread(target=publish, daemon=True).start()
    t_end = time.monotonic() + seconds
    nacks = 0
    for body in c.frames():
        if body[0] == 0x05:
            c.s.sendall(nack(struct.unpack_from('>Q', body, 1)[0])); nacks += 1
        if time.monotonic() > t_end: break
    r1 = rss_mib(d.pid)
    lines, log_bytes = d.log_lines[0] - lines0, d.log_lines[1]
    d.kill()
    print(f'dead letters: {nacks} NACKs in {seconds} s: VmRSS {r0:.0f} -> {r1:.0f} MiB, '
          f'{lines} log lines ({log_bytes / 1e6:.2f} MB)')


if __name__ == '__main__':
    binary = sys.argv[1]
    for name in sys.argv[2:] or ['unsub', 'leave', 'sigterm', 'parked']:
        {'unsub': unsub_flood, 'leave': leave, 'sigterm': sigterm, 'parked': parked,
         'sigterm1': lambda b: sigterm(b, 1, 60000), 'parkedkill': lambda b: parked(b, True), 'orphan': orphan,
         'leave100k': leave_100k, 'sigterm1m': sigterm_1m, 'deadletters': dead_letters}[name](binary)
