/*
 * mptcp-ts UDP addon: the UDP transport's sockets on Linux, sending and receiving in batches.
 *
 * Node's dgram makes one system call, one native-to-JavaScript crossing and a few objects per datagram. At
 * a few hundred Mbit/s of 1460-byte datagrams that per-datagram cost, not the engine, fills the core (the
 * send call alone was 21 % of a test-bed sender's time). Here:
 * - send(): every datagram a drain of the engine produced, laid out back to back, leaves in one sendmmsg();
 *   runs of equal-size datagrams to one destination go as a single UDP GSO message (UDP_SEGMENT): the kernel
 *   walks its stack once per run and cuts the datagrams at the device, or at the receiver.
 * - receiving: a uv_poll on the socket (on the JavaScript thread: no locks) reads with recvmmsg() and UDP GRO,
 *   so one read can return many datagrams of one sender coalesced, and lends JavaScript the batch in the read
 *   slots themselves (one external buffer over them, made once) with the datagrams' bounds and sources: the
 *   next read overwrites them, so JavaScript copies what it keeps. A fresh buffer per read made V8 run a full
 *   collection for every 64 MB received.
 * - a send that meets a full socket buffer (EAGAIN) is copied into a bounded queue that leaves when the
 *   socket is writable again; beyond the bound datagrams are dropped and counted, as a full interface queue
 *   drops them. Other errors are counted and the last one reported to JavaScript; a GSO send the path
 *   cannot take (no checksum offload: EIO) turns GSO off for that socket and goes again datagram by datagram.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include "napi-util.h"
#include <uv.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* Receive: messages per recvmmsg() and their slots (a GRO read returns up to 64 KB). */
#define SLOTS 16
#define SLOT_BYTES 65536
/* Reads per readable event before other I/O gets a turn. */
#define READ_ROUNDS 4
/* Send: messages per sendmmsg(); datagrams and bytes per GSO message (the kernel's limits are 64 or 128
 * segments and one IP packet's length). */
#define SEND_BATCH 64
#define GSO_SEGMENTS 64
#define GSO_BYTES 65000
/* What waits for a full socket buffer to drain. */
#define PENDING_BYTES (4u << 20)
#define PENDING_DATAGRAMS 65536u
/* Per datagram, in send()'s meta array: end offset, port, 16 address bytes. */
#define META_WORDS 6
/* Per datagram, in the receive callback's meta array: start and end offsets in the read slots, port, address. */
#define RECV_META_WORDS 7

typedef struct usock {
  int fd;
  int family;
  int closed;
  /* The Node environment is being torn down: no more Node-API calls for this socket. */
  int env_gone;
  int gso;
  int events;
  /* Owners: the JavaScript handle and the poll handle (closed through libuv); the last one frees. */
  int owners;
  uv_poll_t poll;
  napi_env env;
  napi_ref on_packets;
  napi_ref on_error;
  napi_async_context actx;
  /* The read slots, lent to JavaScript as one buffer (rbuf_js) for the length of each receive callback; once
   * that buffer exists its finalizer frees them. */
  uint8_t *rbuf;
  napi_ref rbuf_js;
  struct mmsghdr rmsg[SLOTS];
  struct iovec riov[SLOTS];
  struct sockaddr_storage rname[SLOTS];
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } rctl[SLOTS];
  /* Datagrams waiting for the socket buffer, laid out like send()'s arguments. */
  uint8_t *pend;
  uint32_t *pend_meta;
  uint32_t pend_count;
  uint32_t pend_bytes;
  uint32_t pend_cap;
  /* Counters. */
  double datagrams_in, reads, gro_reads, datagrams_out, send_calls, gso_messages, queued, queue_drops;
  double send_errors, receive_errors;
  int last_send_errno;
} usock;

static void on_poll(uv_poll_t *h, int status, int events);

static void release(usock *s) {
  if (--s->owners > 0) return;
  /* Once lent (rbuf_js was made, even if its reference is deleted since), the buffer's finalizer frees rbuf. */
  if (!s->rbuf_js) free(s->rbuf);
  free(s->pend);
  free(s->pend_meta);
  free(s);
}

/* The poll handle is closed: no callback can run any more, so the JavaScript references go now (not in
 * close_sock, which may run inside one of those callbacks). */
static void on_poll_closed(uv_handle_t *h) {
  usock *s = h->data;
  if (s->env_gone) {
    release(s);
    return;
  }
  if (s->on_packets) napi_delete_reference(s->env, s->on_packets);
  if (s->on_error) napi_delete_reference(s->env, s->on_error);
  if (s->rbuf_js) napi_delete_reference(s->env, s->rbuf_js);
  if (s->actx) napi_async_destroy(s->env, s->actx);
  s->on_packets = s->on_error = NULL;
  s->actx = NULL;
  release(s);
}

static void close_sock(usock *s) {
  if (s->closed) return;
  s->closed = 1;
  uv_poll_stop(&s->poll);
  uv_close((uv_handle_t *)&s->poll, on_poll_closed);
  close(s->fd);
  s->fd = -1;
}

/* At exit the environment goes before the loop runs again: close now, and leave the references to it. */
static void cleanup_hook(void *arg) {
  usock *s = arg;
  s->env_gone = 1;
  close_sock(s);
}

static void finalize_sock(napi_env env, void *data, void *hint) {
  (void)hint;
  usock *s = data;
  if (!s->env_gone) napi_remove_env_cleanup_hook(env, cleanup_hook, s);
  close_sock(s);
  release(s);
}

static usock *get_sock(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "ERR_UDP_ARG", "expected a UDP handle from open()");
    return NULL;
  }
  return p;
}

/* The call's `n` arguments into argv, and the socket the first names; NULL when some are missing or it names none. */
static usock *sock_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  return get_args(env, info, n, argv) >= n ? get_sock(env, argv[0]) : NULL;
}

/* address bytes (4 or 16) and port -> sockaddr; returns its length, 0 when the bytes do not fit the family */
static socklen_t make_addr(int family, const uint8_t *bytes, size_t len, unsigned port, struct sockaddr_storage *ss) {
  memset(ss, 0, sizeof *ss);
  if (family == AF_INET && len == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    memcpy(&a->sin_addr, bytes, 4);
    return sizeof *a;
  }
  if (family == AF_INET6 && len == 16) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    memcpy(&a->sin6_addr, bytes, 16);
    return sizeof *a;
  }
  return 0;
}

static napi_value errno_result(napi_env env, int err) {
  napi_value obj, n;
  napi_create_object(env, &obj);
  napi_create_int32(env, err, &n);
  napi_set_named_property(env, obj, "errno", n);
  return obj;
}

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  void *p;
  size_t n;
  if (napi_get_typedarray_info(env, v, &type, &n, &p, NULL, NULL) != napi_ok) return 0;
  if (type != napi_uint8_array) return 0;
  *data = p;
  *len = n;
  return 1;
}

/* ------------------------------------------------------------------ open / connect */

/* open(address: Uint8Array(4|16), port, rcvbuf, sndbuf) -> { handle, port } | { errno } */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  size_t argc = get_args(env, info, 4, argv);
  uint8_t *addr;
  size_t alen;
  uint32_t port = 0, rcvbuf = 0, sndbuf = 0;
  if (argc < 4 || !get_bytes(env, argv[0], &addr, &alen) || napi_get_value_uint32(env, argv[1], &port) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &rcvbuf) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &sndbuf) != napi_ok || port > 65535) {
    napi_throw_type_error(env, "ERR_UDP_ARG", "open(address bytes, port, rcvbuf, sndbuf)");
    return NULL;
  }
  int family = alen == 4 ? AF_INET : AF_INET6;
  struct sockaddr_storage ss;
  socklen_t sl = make_addr(family, addr, alen, port, &ss);
  if (sl == 0) {
    napi_throw_type_error(env, "ERR_UDP_ARG", "the address must be 4 or 16 bytes");
    return NULL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno_result(env, errno);
  int one = 1;
  if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  /* Sizes the kernel refuses (above rmem_max / wmem_max) keep its default, as dgram's setters do. */
  if (rcvbuf) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (sndbuf) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
  if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
    int e = errno;
    close(fd);
    return errno_result(env, e);
  }
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bl);
  unsigned real_port = family == AF_INET ? ntohs(((struct sockaddr_in *)&bound)->sin_port)
                                         : ntohs(((struct sockaddr_in6 *)&bound)->sin6_port);

  usock *s = calloc(1, sizeof *s);
  uint8_t *rbuf = malloc((size_t)SLOTS * SLOT_BYTES);
  if (!s || !rbuf) {
    free(s);
    free(rbuf);
    close(fd);
    return errno_result(env, ENOMEM);
  }
  s->fd = fd;
  s->family = family;
  s->env = env;
  s->rbuf = rbuf;
  s->owners = 2;
  s->gso = 1;
  /* GRO: the kernel may hand several datagrams of one sender in one read (a kernel without it: one each). */
  setsockopt(fd, IPPROTO_UDP, UDP_GRO, &one, sizeof one);
  uv_loop_t *loop;
  napi_get_uv_event_loop(env, &loop);
  uv_poll_init(loop, &s->poll, fd);
  s->poll.data = s;

  napi_add_env_cleanup_hook(env, cleanup_hook, s);
  napi_value handle, result, p;
  napi_create_external(env, s, finalize_sock, NULL, &handle);
  napi_create_object(env, &result);
  napi_create_uint32(env, real_port, &p);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "port", p);
  return result;
}

/* connect(handle, address bytes, port) -> 0 | errno */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  napi_value argv[3], r;
  usock *s = sock_args(env, info, 3, argv);
  uint8_t *addr;
  size_t alen;
  uint32_t port;
  if (!s || !get_bytes(env, argv[1], &addr, &alen) || napi_get_value_uint32(env, argv[2], &port) != napi_ok) {
    if (s) napi_throw_type_error(env, "ERR_UDP_ARG", "connect(handle, address bytes, port)");
    return NULL;
  }
  struct sockaddr_storage ss;
  socklen_t sl = make_addr(s->family, addr, alen, port, &ss);
  int e = s->closed ? EBADF : sl == 0 ? EAFNOSUPPORT : connect(s->fd, (struct sockaddr *)&ss, sl) < 0 ? errno : 0;
  napi_create_int32(env, e, &r);
  return r;
}

/* ------------------------------------------------------------------ sending */

static uint32_t start_of(const uint32_t *meta, uint32_t i) { return i ? meta[(i - 1) * META_WORDS] : 0; }

static int same_dest(const uint32_t *meta, uint32_t a, uint32_t b) {
  return memcmp(&meta[a * META_WORDS + 1], &meta[b * META_WORDS + 1], (META_WORDS - 1) * 4) == 0;
}

/* Copies datagrams [from, count) into the pending queue (dropping what does not fit) and asks for POLLOUT. */
static void enqueue(usock *s, const uint8_t *data, const uint32_t *meta, uint32_t from, uint32_t count) {
  for (uint32_t i = from; i < count; i++) {
    uint32_t st = start_of(meta, i), len = meta[i * META_WORDS] - st;
    if (s->pend_bytes + len > PENDING_BYTES || s->pend_count >= PENDING_DATAGRAMS) {
      s->queue_drops++;
      continue;
    }
    if (s->pend_count == s->pend_cap) {
      uint32_t cap = s->pend_cap ? s->pend_cap * 2 : 256;
      uint32_t *m = realloc(s->pend_meta, (size_t)cap * META_WORDS * 4);
      if (!m) {
        s->queue_drops++;
        continue;
      }
      s->pend_meta = m;
      s->pend_cap = cap;
    }
    if (!s->pend) {
      s->pend = malloc(PENDING_BYTES);
      if (!s->pend) {
        s->queue_drops++;
        continue;
      }
    }
    memcpy(s->pend + s->pend_bytes, data + st, len);
    s->pend_bytes += len;
    uint32_t *m = &s->pend_meta[s->pend_count * META_WORDS];
    memcpy(m, &meta[i * META_WORDS], META_WORDS * 4);
    m[0] = s->pend_bytes;
    s->pend_count++;
    s->queued++;
  }
  if (s->pend_count && !(s->events & UV_WRITABLE) && !s->closed) {
    s->events |= UV_WRITABLE;
    uv_poll_start(&s->poll, s->events, on_poll);
  }
}

/*
 * Sends datagrams [0, count) of data/meta; returns the index of the first one not sent because the socket
 * buffer is full (count when all went or failed for good).
 */
static uint32_t send_batch(usock *s, const uint8_t *data, const uint32_t *meta, uint32_t count) {
  uint32_t i = 0;
  while (i < count) {
    struct mmsghdr msgs[SEND_BATCH];
    struct iovec iov[SEND_BATCH];
    struct sockaddr_storage names[SEND_BATCH];
    union {
      char buf[CMSG_SPACE(sizeof(uint16_t))];
      struct cmsghdr align;
    } ctl[SEND_BATCH];
    uint32_t first[SEND_BATCH + 1];
    int n = 0;
    uint32_t j = i;
    memset(msgs, 0, sizeof msgs);
    while (j < count && n < SEND_BATCH) {
      uint32_t st = start_of(meta, j), len = meta[j * META_WORDS] - st;
      /* A GSO run: equal sizes (the last may be shorter), one destination, within the kernel's limits. */
      uint32_t k = j + 1, total = len;
      if (s->gso && len > 0) {
        while (k < count && k - j < GSO_SEGMENTS && same_dest(meta, j, k)) {
          uint32_t lk = meta[k * META_WORDS] - start_of(meta, k);
          uint32_t prev = meta[(k - 1) * META_WORDS] - start_of(meta, k - 1);
          if (prev != len || lk > len || lk == 0 || total + lk > GSO_BYTES) break;
          total += lk;
          k++;
        }
      }
      struct msghdr *m = &msgs[n].msg_hdr;
      iov[n].iov_base = (void *)(data + st);
      iov[n].iov_len = total;
      m->msg_iov = &iov[n];
      m->msg_iovlen = 1;
      const uint32_t *d = &meta[j * META_WORDS];
      if (d[1] != 0) {
        m->msg_name = &names[n];
        m->msg_namelen = make_addr(s->family, (const uint8_t *)&d[2], s->family == AF_INET ? 4 : 16, d[1], &names[n]);
      }
      if (k - j > 1) {
        m->msg_control = ctl[n].buf;
        m->msg_controllen = sizeof ctl[n].buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(m);
        c->cmsg_level = IPPROTO_UDP;
        c->cmsg_type = UDP_SEGMENT;
        c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        uint16_t seg = (uint16_t)len;
        memcpy(CMSG_DATA(c), &seg, sizeof seg);
        s->gso_messages++;
      }
      first[n++] = j;
      j = k;
    }
    first[n] = j;
    s->send_calls++;
    int r = sendmmsg(s->fd, msgs, (unsigned)n, MSG_DONTWAIT);
    if (r > 0) {
      s->datagrams_out += first[r] - i;
      i = first[r];
      continue;
    }
    if (r == 0) return i; /* nothing taken and no error: treat as a full buffer */
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) return i;
    if (first[1] - first[0] > 1 && (e == EIO || e == EINVAL || e == EOPNOTSUPP || e == ENOPROTOOPT)) {
      /* The path cannot take GSO (no checksum offload on the device, an old kernel): datagram by datagram. */
      s->gso = 0;
      continue;
    }
    /* This message fails for good (address gone, too big, unreachable, no buffer space): drop it. */
    s->send_errors += first[1] - first[0];
    s->last_send_errno = e;
    i = first[1];
  }
  return count;
}

static void flush_pending(usock *s) {
  uint32_t done = send_batch(s, s->pend, s->pend_meta, s->pend_count);
  if (done == s->pend_count) {
    s->pend_count = s->pend_bytes = 0;
    if (s->events & UV_WRITABLE) {
      s->events &= ~UV_WRITABLE;
      if (s->events) uv_poll_start(&s->poll, s->events, on_poll);
      else uv_poll_stop(&s->poll);
    }
    return;
  }
  /* Keep the rest in order at the front of the queue. */
  uint32_t off = start_of(s->pend_meta, done);
  memmove(s->pend, s->pend + off, s->pend_bytes - off);
  memmove(s->pend_meta, s->pend_meta + (size_t)done * META_WORDS, (size_t)(s->pend_count - done) * META_WORDS * 4);
  s->pend_count -= done;
  s->pend_bytes -= off;
  for (uint32_t i = 0; i < s->pend_count; i++) s->pend_meta[i * META_WORDS] -= off;
}

/*
 * send(handle, data, meta, count) -> the errno of the last failed send (0: none). Datagram i is
 * data[meta[6i-6] .. meta[6i]) (0 for the first), to port meta[6i+1] at the address in the 16 bytes of
 * meta[6i+2..6i+5] (port 0: the connected peer). The bytes are used before the call returns.
 */
static napi_value js_send(napi_env env, napi_callback_info info) {
  napi_value argv[4], r;
  usock *s = sock_args(env, info, 4, argv);
  uint8_t *data;
  size_t dlen, mlen;
  void *mp;
  napi_typedarray_type mt;
  uint32_t count;
  if (!s || !get_bytes(env, argv[1], &data, &dlen) ||
      napi_get_typedarray_info(env, argv[2], &mt, &mlen, &mp, NULL, NULL) != napi_ok || mt != napi_uint32_array ||
      napi_get_value_uint32(env, argv[3], &count) != napi_ok || (size_t)count * META_WORDS > mlen) {
    if (s) napi_throw_type_error(env, "ERR_UDP_ARG", "send(handle, data, meta, count)");
    return NULL;
  }
  const uint32_t *meta = mp;
  if (count && meta[(count - 1) * META_WORDS] > dlen) {
    napi_throw_range_error(env, "ERR_UDP_ARG", "send: a datagram ends past the data");
    return NULL;
  }
  s->last_send_errno = 0;
  if (s->closed) {
    s->last_send_errno = EBADF;
  } else if (s->pend_count) {
    /* Behind datagrams that wait for the buffer: keep the order. */
    enqueue(s, data, meta, 0, count);
    flush_pending(s);
  } else {
    uint32_t done = send_batch(s, data, meta, count);
    if (done < count) enqueue(s, data, meta, done, count);
  }
  napi_create_int32(env, s->last_send_errno, &r);
  return r;
}

/* ------------------------------------------------------------------ receiving */

static void call_js(usock *s, napi_ref fn, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value cb, recv;
  if (napi_get_reference_value(env, fn, &cb) != napi_ok || cb == NULL) return;
  /* napi_make_callback needs an object as the receiver. */
  napi_get_global(env, &recv);
  if (napi_make_callback(env, s->actx, recv, cb, argc, argv, NULL) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

static void report_error(usock *s, int e) {
  napi_handle_scope scope;
  napi_open_handle_scope(s->env, &scope);
  napi_value n;
  napi_create_int32(s->env, e, &n);
  call_js(s, s->on_error, 1, &n);
  napi_close_handle_scope(s->env, scope);
}

/*
 * Hands the n messages of the last recvmmsg() to JavaScript, GRO reads cut into datagrams: meta gives each
 * datagram's place in the read slots, which JavaScript sees as one buffer it may read only during the call
 * (the next recvmmsg() reads into the same memory). No buffer per message: at 64 KB datagrams, fresh
 * buffers made V8 run a full collection for every 64 MB received.
 */
static void deliver(usock *s, int n) {
  size_t count = 0;
  int seg[SLOTS];
  for (int i = 0; i < n; i++) {
    size_t len = s->rmsg[i].msg_len;
    seg[i] = 0;
    struct msghdr *m = &s->rmsg[i].msg_hdr;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
      if (c->cmsg_level == IPPROTO_UDP && c->cmsg_type == UDP_GRO) memcpy(&seg[i], CMSG_DATA(c), sizeof(int));
    if (seg[i] <= 0 || (size_t)seg[i] >= len) seg[i] = (int)len;
    else s->gro_reads++;
    count += len == 0 ? 1 : (len + (size_t)seg[i] - 1) / (size_t)seg[i];
  }
  napi_env env = s->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value slots, ab, meta, cnt;
  void *mp = NULL;
  /* These fail while Node tears the environment down (its last loop turns still poll): drop the batch. */
  int ok = napi_get_reference_value(env, s->rbuf_js, &slots) == napi_ok && slots != NULL &&
           napi_create_arraybuffer(env, count * RECV_META_WORDS * 4, &mp, &ab) == napi_ok &&
           napi_create_typedarray(env, napi_uint32_array, count * RECV_META_WORDS, ab, 0, &meta) == napi_ok;
  if (!ok) {
    napi_close_handle_scope(env, scope);
    return;
  }
  uint32_t *md = mp;
  size_t k = 0;
  for (int i = 0; i < n; i++) {
    size_t len = s->rmsg[i].msg_len;
    const struct sockaddr_storage *ss = &s->rname[i];
    uint32_t port = 0;
    uint8_t addr[16] = {0};
    if (ss->ss_family == AF_INET) {
      const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
      port = ntohs(a->sin_port);
      memcpy(addr, &a->sin_addr, 4);
    } else if (ss->ss_family == AF_INET6) {
      const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
      port = ntohs(a->sin6_port);
      memcpy(addr, &a->sin6_addr, 16);
    }
    size_t off = (size_t)i * SLOT_BYTES, end = off + len;
    do {
      size_t e = off + (size_t)seg[i] < end ? off + (size_t)seg[i] : end;
      uint32_t *w = &md[k * RECV_META_WORDS];
      w[0] = (uint32_t)off;
      w[1] = (uint32_t)e;
      w[2] = port;
      memcpy(&w[3], addr, 16);
      k++;
      off = e;
    } while (off < end);
  }
  s->datagrams_in += (double)count;
  napi_create_uint32(env, (uint32_t)count, &cnt);
  napi_value argv[3] = {slots, meta, cnt};
  call_js(s, s->on_packets, 3, argv);
  napi_close_handle_scope(env, scope);
}

static void receive(usock *s) {
  for (int round = 0; round < READ_ROUNDS && !s->closed; round++) {
    for (int i = 0; i < SLOTS; i++) {
      s->riov[i].iov_base = s->rbuf + (size_t)i * SLOT_BYTES;
      s->riov[i].iov_len = SLOT_BYTES;
      struct msghdr *m = &s->rmsg[i].msg_hdr;
      m->msg_iov = &s->riov[i];
      m->msg_iovlen = 1;
      m->msg_name = &s->rname[i];
      m->msg_namelen = sizeof s->rname[i];
      m->msg_control = s->rctl[i].buf;
      m->msg_controllen = sizeof s->rctl[i].buf;
      m->msg_flags = 0;
    }
    int n = recvmmsg(s->fd, s->rmsg, SLOTS, MSG_DONTWAIT, NULL);
    if (n < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK) return;
      if (e == EINTR) continue;
      /* An ICMP error queued on a connected socket (port unreachable...): soft, reported, and reading goes on. */
      s->receive_errors++;
      report_error(s, e);
      continue;
    }
    s->reads++;
    deliver(s, n);
    if (n < SLOTS) return;
  }
}

static void on_poll(uv_poll_t *h, int status, int events) {
  usock *s = h->data;
  if (s->closed) return;
  if (status < 0) {
    /* libuv stops a poll handle on POLLERR (an ICMP error queued on a connected socket) and says EBADF. The
     * socket is fine: reading takes the pending error (counted and reported there) and then the data, and
     * polling starts again; otherwise the socket would never be read again. */
    uv_poll_start(&s->poll, s->events, on_poll);
    receive(s);
    return;
  }
  if ((events & UV_WRITABLE) && s->pend_count) flush_pending(s);
  if ((events & UV_READABLE) && !s->closed) receive(s);
}

/* The lent read slots' buffer was collected: the slots go with it (release() leaves them from then on). */
static void free_slots(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* start(handle, onPackets(slots, meta, count), onError(errno)): reads from now on. */
static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  usock *s = sock_args(env, info, 3, argv);
  if (!s) return NULL;
  if (s->closed || s->on_packets) {
    napi_throw_error(env, "ERR_UDP_STATE", "start(): the socket is closed or already started");
    return NULL;
  }
  napi_value slots;
  if (napi_create_external_buffer(env, (size_t)SLOTS * SLOT_BYTES, s->rbuf, free_slots, NULL, &slots) != napi_ok) {
    /* A runtime that forbids external buffers (V8's sandbox): the transport's native: false still works. */
    napi_throw_error(env, "ERR_UDP_STATE", "start(): this runtime refuses external buffers; use native: false");
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "mptcp-ts:udp", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, NULL, name, &s->actx);
  napi_create_reference(env, slots, 1, &s->rbuf_js);
  napi_create_reference(env, argv[1], 1, &s->on_packets);
  napi_create_reference(env, argv[2], 1, &s->on_error);
  s->events |= UV_READABLE;
  uv_poll_start(&s->poll, s->events, on_poll);
  return NULL;
}

/* ------------------------------------------------------------------ control */

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  usock *s = sock_args(env, info, 1, argv);
  if (s) close_sock(s);
  return NULL;
}

/* ref(handle, yes): whether the socket keeps the event loop alive (it does by default). */
static napi_value js_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  usock *s = sock_args(env, info, 2, argv);
  bool yes = true;
  if (!s || s->closed || napi_get_value_bool(env, argv[1], &yes) != napi_ok) return NULL;
  if (yes) uv_ref((uv_handle_t *)&s->poll);
  else uv_unref((uv_handle_t *)&s->poll);
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1], obj;
  usock *s = sock_args(env, info, 1, argv);
  if (!s) return NULL;
  napi_create_object(env, &obj);
  set_number(env, obj, "datagramsIn", s->datagrams_in);
  set_number(env, obj, "reads", s->reads);
  set_number(env, obj, "groReads", s->gro_reads);
  set_number(env, obj, "datagramsOut", s->datagrams_out);
  set_number(env, obj, "sendCalls", s->send_calls);
  set_number(env, obj, "gsoMessages", s->gso_messages);
  set_number(env, obj, "gso", s->gso);
  set_number(env, obj, "queued", s->queued);
  set_number(env, obj, "queueDrops", s->queue_drops);
  set_number(env, obj, "sendErrors", s->send_errors);
  set_number(env, obj, "receiveErrors", s->receive_errors);
  return obj;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      NAPI_METHOD("open", js_open),
      NAPI_METHOD("connect", js_connect),
      NAPI_METHOD("start", js_start),
      NAPI_METHOD("send", js_send),
      NAPI_METHOD("close", js_close),
      NAPI_METHOD("stats", js_stats),
      NAPI_METHOD("ref", js_ref),
  };
  NAPI_EXPORT(env, exports, props);
  return exports;
}
