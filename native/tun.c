/*
 * mptcp-ts TUN addon: opens a TUN device (IFF_TUN | IFF_NO_PI), optionally inside another network
 * namespace, reads it on its own thread and hands the packets to JavaScript in batches, and writes on another
 * thread the packets JavaScript queues.
 *
 * Why a thread: a blocking read on the libuv thread pool starves it, and several reads in flight reorder
 * packets. The reader thread reads (non-blocking, poll() when empty) straight into a single-producer /
 * single-consumer ring; one thread-safe call wakes JavaScript, which copies everything queued so far into
 * one fresh ArrayBuffer (the engine keeps views into received packets, so the memory must be JS-owned and
 * never reused) and frees the ring space. Notifications coalesce: while JavaScript is busy, packets
 * accumulate and arrive as one larger batch. When the ring is full the reader waits, and the kernel's TUN
 * queue (txqueuelen) is where packets drop, as on a real interface.
 *
 * Why a writer thread: a TUN write runs the kernel's whole receive path for the packet (routing, forwarding,
 * the next device's queue) before it returns, about as long as the engine takes to make the packet. Done
 * on the JavaScript thread it stalled the engine for a third of its time; queued to a thread of its own it
 * runs on another core. The queue is a second single-producer/single-consumer ring (JavaScript produces);
 * when it is full a packet is dropped and counted, as a full interface queue drops it.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <node_api.h>

#include "napi-util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define RING_BYTES (16u << 20)
/* Largest packet a read may return (a TUN MTU is at most 65535) plus its 4-byte length word. */
#define SLOT_MAX (65536u + 4u)
#define SKIP_MARK 0xffffffffu
#define OUT_RING_BYTES (8u << 20)

typedef struct tun {
  int fd;
  int wake_fd;
  char name[IFNAMSIZ];
  uint8_t *ring;
  /* Monotonic byte positions; index = position % RING_BYTES. head: reader only; tail: JavaScript only. */
  _Atomic uint64_t head;
  _Atomic uint64_t tail;
  _Atomic int notified;
  _Atomic int waiting;
  _Atomic int stopping;
  pthread_mutex_t lock;
  pthread_cond_t space;
  pthread_t thread;
  int started;
  int closed;
  /* Owners of this struct: the JavaScript handle and, while it exists, the thread-safe function (whose queued
   * calls may still run after close). Both are released on the JavaScript thread; the last one frees. */
  int owners;
  napi_threadsafe_function tsfn;
  napi_env env;
  /* Counters (reader thread writes, JavaScript reads: approximate while running). */
  _Atomic uint64_t packets;
  _Atomic uint64_t bytes;
  _Atomic uint64_t batches;
  _Atomic uint64_t ring_full_waits;
  _Atomic uint64_t read_errors;
  _Atomic int last_read_errno;
  /* The write queue: ohead is advanced by JavaScript only, otail by the writer thread only. */
  uint8_t *oring;
  _Atomic uint64_t ohead;
  _Atomic uint64_t otail;
  _Atomic int osleeping;
  _Atomic int ostopping;
  pthread_mutex_t olock;
  pthread_cond_t oready;
  pthread_t writer;
  int writer_started;
  _Atomic uint64_t written;
  _Atomic uint64_t write_errors;
  _Atomic uint64_t write_drops;
  _Atomic int last_write_errno;
} tun_t;

static void *writer_main(void *arg);

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  const char *hint = "";
  if (err == EPERM || err == EACCES) hint = " (needs root or CAP_NET_ADMIN)";
  else if (err == ENOENT) hint = " (no such file: is the tun module loaded / the namespace present?)";
  else if (err == EBUSY) hint = " (the device is already attached to another descriptor)";
  snprintf(msg, sizeof msg, "%s: %s%s", what, strerror(err), hint);
  napi_throw_error(env, "ERR_TUN", msg);
  return NULL;
}

/* ------------------------------------------------------------------ opening */

struct open_req {
  const char *name;
  const char *netns;
  int fd;
  int err;
  const char *what;
  char ifname[IFNAMSIZ];
};

static void open_device(struct open_req *r) {
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    r->err = errno;
    r->what = "open /dev/net/tun";
    return;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  strncpy(ifr.ifr_name, r->name, IFNAMSIZ - 1);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    r->err = errno;
    r->what = "ioctl TUNSETIFF";
    close(fd);
    return;
  }
  memcpy(r->ifname, ifr.ifr_name, IFNAMSIZ);
  r->fd = fd;
}

/* A TUN device belongs to the network namespace of the thread that opened /dev/net/tun: a short-lived
 * thread enters the namespace, opens it, and ends; the descriptor stays bound to that device. */
static void *open_in_netns(void *arg) {
  struct open_req *r = arg;
  int ns = open(r->netns, O_RDONLY | O_CLOEXEC);
  if (ns < 0) {
    r->err = errno;
    r->what = "open network namespace";
    return NULL;
  }
  if (setns(ns, CLONE_NEWNET) < 0) {
    r->err = errno;
    r->what = "setns";
    close(ns);
    return NULL;
  }
  close(ns);
  open_device(r);
  return NULL;
}

static void stop_reader(tun_t *t) {
  if (!t->started) return;
  atomic_store(&t->stopping, 1);
  uint64_t one = 1;
  ssize_t ignored = write(t->wake_fd, &one, sizeof one);
  (void)ignored;
  pthread_mutex_lock(&t->lock);
  pthread_cond_broadcast(&t->space);
  pthread_mutex_unlock(&t->lock);
  pthread_join(t->thread, NULL);
  t->started = 0;
  napi_release_threadsafe_function(t->tsfn, napi_tsfn_release);
  t->tsfn = NULL;
}

/* Lets the writer drain what is queued, then joins it. */
static void stop_writer(tun_t *t) {
  if (!t->writer_started) return;
  atomic_store(&t->ostopping, 1);
  pthread_mutex_lock(&t->olock);
  pthread_cond_signal(&t->oready);
  pthread_mutex_unlock(&t->olock);
  pthread_join(t->writer, NULL);
  t->writer_started = 0;
}

static void close_tun(tun_t *t) {
  if (t->closed) return;
  stop_reader(t);
  stop_writer(t);
  close(t->fd);
  close(t->wake_fd);
  t->closed = 1;
}

static void cleanup_hook(void *arg) { close_tun(arg); }

static void release_owner(tun_t *t) {
  if (--t->owners > 0) return;
  pthread_mutex_destroy(&t->lock);
  pthread_cond_destroy(&t->space);
  pthread_mutex_destroy(&t->olock);
  pthread_cond_destroy(&t->oready);
  free(t->ring);
  free(t->oring);
  free(t);
}

static void finalize_tun(napi_env env, void *data, void *hint) {
  (void)hint;
  tun_t *t = data;
  close_tun(t);
  napi_remove_env_cleanup_hook(env, cleanup_hook, t);
  release_owner(t);
}

/* The thread-safe function is gone: no more deliver() calls can come. */
static void finalize_tsfn(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  release_owner(data);
}

/* open(name: string, netnsPath?: string) -> { handle, name } */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = get_args(env, info, 2, argv);
  char name[64] = {0};
  char netns[4096] = {0};
  size_t len = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len) != napi_ok ||
      len > IFNAMSIZ - 1) {
    napi_throw_type_error(env, "ERR_TUN_ARG",
                          "open(name, netnsPath?): name must be a string of at most 15 characters");
    return NULL;
  }
  napi_valuetype type = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &type);
  struct open_req r = {.name = name, .netns = NULL, .fd = -1, .err = 0, .what = ""};
  if (type == napi_string) {
    napi_get_value_string_utf8(env, argv[1], netns, sizeof netns, &len);
    r.netns = netns;
    pthread_t th;
    int e = pthread_create(&th, NULL, open_in_netns, &r);
    if (e != 0) return throw_errno(env, "pthread_create", e);
    pthread_join(th, NULL);
  } else {
    open_device(&r);
  }
  if (r.fd < 0) return throw_errno(env, r.what, r.err);

  tun_t *t = calloc(1, sizeof *t);
  uint8_t *ring = malloc(RING_BYTES);
  uint8_t *oring = malloc(OUT_RING_BYTES);
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!t || !ring || !oring || wake < 0) {
    int e = wake < 0 ? errno : ENOMEM;
    free(t);
    free(ring);
    free(oring);
    if (wake >= 0) close(wake);
    close(r.fd);
    return throw_errno(env, "allocating the TUN reader", e);
  }
  t->fd = r.fd;
  t->owners = 1;
  t->wake_fd = wake;
  t->ring = ring;
  t->oring = oring;
  t->env = env;
  memcpy(t->name, r.ifname, IFNAMSIZ);
  pthread_mutex_init(&t->lock, NULL);
  pthread_cond_init(&t->space, NULL);
  pthread_mutex_init(&t->olock, NULL);
  pthread_cond_init(&t->oready, NULL);
  int e = pthread_create(&t->writer, NULL, writer_main, t);
  if (e != 0) {
    close(r.fd);
    close(wake);
    release_owner(t);
    return throw_errno(env, "pthread_create (TUN writer)", e);
  }
  t->writer_started = 1;
  napi_add_env_cleanup_hook(env, cleanup_hook, t);

  napi_value handle, result, ifname;
  napi_create_external(env, t, finalize_tun, NULL, &handle);
  napi_create_object(env, &result);
  napi_create_string_utf8(env, t->name, NAPI_AUTO_LENGTH, &ifname);
  napi_set_named_property(env, result, "handle", handle);
  napi_set_named_property(env, result, "name", ifname);
  return result;
}

static tun_t *get_tun(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "ERR_TUN_ARG", "expected a TUN handle from open()");
    return NULL;
  }
  tun_t *t = p;
  if (t->closed) {
    napi_throw_error(env, "ERR_TUN_CLOSED", "the TUN handle is closed");
    return NULL;
  }
  return t;
}

/* The call's `n` arguments into argv, and the device the first names; NULL when some are missing or it names none. */
static tun_t *tun_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  return get_args(env, info, n, argv) >= n ? get_tun(env, argv[0]) : NULL;
}

/* ------------------------------------------------------------------ reading */

static uint64_t ring_free(tun_t *t, uint64_t head) { return RING_BYTES - (head - atomic_load(&t->tail)); }

/* Waits until the ring has `need` free bytes; false when stopping. */
static int wait_for_space(tun_t *t, uint64_t head, uint64_t need) {
  while (ring_free(t, head) < need) {
    if (atomic_load(&t->stopping)) return 0;
    atomic_fetch_add(&t->ring_full_waits, 1);
    pthread_mutex_lock(&t->lock);
    atomic_store(&t->waiting, 1);
    if (ring_free(t, head) < need && !atomic_load(&t->stopping)) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += 100 * 1000 * 1000;
      if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
      }
      pthread_cond_timedwait(&t->space, &t->lock, &until);
    }
    atomic_store(&t->waiting, 0);
    pthread_mutex_unlock(&t->lock);
  }
  return !atomic_load(&t->stopping);
}

static void *reader_main(void *arg) {
  tun_t *t = arg;
  uint64_t head = atomic_load(&t->head);
  while (!atomic_load(&t->stopping)) {
    uint32_t idx = (uint32_t)(head % RING_BYTES);
    uint32_t contiguous = RING_BYTES - idx;
    /* Room for a wrap-around skip and one largest packet. */
    if (!wait_for_space(t, head, (contiguous < SLOT_MAX ? contiguous : 0) + SLOT_MAX)) break;
    if (contiguous < SLOT_MAX) {
      memcpy(t->ring + idx, &(uint32_t){SKIP_MARK}, 4);
      head += contiguous;
      idx = 0;
    }
    ssize_t n = read(t->fd, t->ring + idx + 4, SLOT_MAX - 4);
    if (n < 0) {
      int e = errno;
      if (e == EINTR) continue;
      if (e == EAGAIN) {
        /* Publish any skip marker before sleeping, so the consumer's view stays aligned. */
        atomic_store(&t->head, head);
        struct pollfd p[2] = {{.fd = t->fd, .events = POLLIN}, {.fd = t->wake_fd, .events = POLLIN}};
        if (poll(p, 2, -1) < 0 && errno != EINTR) break;
        continue;
      }
      atomic_fetch_add(&t->read_errors, 1);
      atomic_store(&t->last_read_errno, e);
      if (e == EBADF || e == EBADFD || e == EIO) break;
      continue;
    }
    uint32_t len = (uint32_t)n;
    memcpy(t->ring + idx, &len, 4);
    head += (4 + len + 3) & ~3ull;
    atomic_store(&t->head, head);
    atomic_fetch_add(&t->packets, 1);
    atomic_fetch_add(&t->bytes, len);
    if (atomic_exchange(&t->notified, 1) == 0)
      napi_call_threadsafe_function(t->tsfn, NULL, napi_tsfn_nonblocking);
  }
  return NULL;
}

/* JavaScript is done with the ring up to `head`: free the space and wake a reader waiting for it. */
static void consumed(tun_t *t, uint64_t head) {
  atomic_store(&t->tail, head);
  if (atomic_load(&t->waiting)) {
    pthread_mutex_lock(&t->lock);
    pthread_cond_signal(&t->space);
    pthread_mutex_unlock(&t->lock);
  }
}

/* Runs on the JavaScript thread: copies every queued packet into one ArrayBuffer and calls
 * onPackets(data: Uint8Array, ends: Uint32Array, count: number); packet i is data[ends[i-1] .. ends[i]). */
static void deliver(napi_env env, napi_value cb, void *context, void *data) {
  (void)data;
  tun_t *t = context;
  if (env == NULL || t->closed) return;
  /* Clear first: a packet published after the head is read below triggers another call. */
  atomic_store(&t->notified, 0);
  uint64_t head = atomic_load(&t->head);
  uint64_t tail = atomic_load(&t->tail);
  if (head == tail) return;
  /* Records start at multiples of 4 and RING_BYTES is one, so a length word never straddles the end. */
  size_t count = 0, total = 0;
  for (uint64_t p = tail; p < head;) {
    uint32_t idx = (uint32_t)(p % RING_BYTES), len;
    memcpy(&len, t->ring + idx, 4);
    if (len == SKIP_MARK) {
      p += RING_BYTES - idx;
      continue;
    }
    count++;
    total += len;
    p += (4 + len + 3) & ~3ull;
  }
  if (count == 0) {
    consumed(t, head);
    return;
  }
  napi_value ab, ends_ab, bytes, ends, n;
  void *dst = NULL, *ends_mem = NULL;
  /* These fail once Node tears the environment down while a batch is still queued (an unreferenced reader
   * lets the process exit under traffic): the batch is dropped, as packets at a closing interface are. */
  if (napi_create_arraybuffer(env, total, &dst, &ab) != napi_ok ||
      napi_create_arraybuffer(env, count * 4, &ends_mem, &ends_ab) != napi_ok) {
    consumed(t, head);
    return;
  }
  uint8_t *out = dst;
  uint32_t *end = ends_mem;
  size_t at = 0, i = 0;
  for (uint64_t p = tail; p < head;) {
    uint32_t idx = (uint32_t)(p % RING_BYTES), len;
    memcpy(&len, t->ring + idx, 4);
    if (len == SKIP_MARK) {
      p += RING_BYTES - idx;
      continue;
    }
    memcpy(out + at, t->ring + idx + 4, len);
    at += len;
    end[i++] = (uint32_t)at;
    p += (4 + len + 3) & ~3ull;
  }
  consumed(t, head);
  atomic_fetch_add(&t->batches, 1);
  napi_value global;
  if (napi_create_typedarray(env, napi_uint8_array, total, ab, 0, &bytes) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, count, ends_ab, 0, &ends) != napi_ok ||
      napi_create_uint32(env, (uint32_t)count, &n) != napi_ok || napi_get_global(env, &global) != napi_ok)
    return;
  napi_value argv[3] = {bytes, ends, n};
  napi_call_function(env, global, cb, 3, argv, NULL);
}

/* start(handle, onPackets) */
static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  size_t argc = get_args(env, info, 2, argv);
  tun_t *t = argc >= 1 ? get_tun(env, argv[0]) : NULL;
  if (!t) return NULL;
  napi_valuetype type = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &type);
  if (type != napi_function) {
    napi_throw_type_error(env, "ERR_TUN_ARG", "start(handle, onPackets): onPackets must be a function");
    return NULL;
  }
  if (t->started) {
    napi_throw_error(env, "ERR_TUN_STARTED", "the TUN reader is already started");
    return NULL;
  }
  napi_value resource;
  napi_create_string_utf8(env, "mptcp-ts:tun", NAPI_AUTO_LENGTH, &resource);
  if (napi_create_threadsafe_function(env, argv[1], NULL, resource, 0, 1, t, finalize_tsfn, t, deliver,
                                      &t->tsfn) != napi_ok)
    return NULL;
  t->owners++;
  atomic_store(&t->stopping, 0);
  int e = pthread_create(&t->thread, NULL, reader_main, t);
  if (e != 0) {
    napi_release_threadsafe_function(t->tsfn, napi_tsfn_abort);
    t->tsfn = NULL;
    return throw_errno(env, "pthread_create", e);
  }
  t->started = 1;
  return NULL;
}

/* ------------------------------------------------------------------ writing */

static int get_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, len, (void **)data, &ab, &offset) != napi_ok ||
      type != napi_uint8_array) {
    napi_throw_type_error(env, "ERR_TUN_ARG", "expected a Uint8Array");
    return 0;
  }
  return 1;
}

/* Queues one packet for the writer thread (JavaScript thread only); false when the queue is full. Records
 * are a 4-byte length and the packet, 4-byte aligned; a record that would straddle the end of the ring is
 * preceded by a skip mark, as in the read ring. */
static int enqueue(tun_t *t, const uint8_t *data, uint32_t len) {
  uint64_t head = atomic_load_explicit(&t->ohead, memory_order_relaxed);
  uint64_t rec = (4 + (uint64_t)len + 3) & ~3ull;
  uint32_t idx = (uint32_t)(head % OUT_RING_BYTES);
  uint32_t contiguous = OUT_RING_BYTES - idx;
  uint64_t need = rec + (contiguous < rec ? contiguous : 0);
  if (OUT_RING_BYTES - (head - atomic_load(&t->otail)) < need) {
    atomic_fetch_add(&t->write_drops, 1);
    return 0;
  }
  if (contiguous < rec) {
    memcpy(t->oring + idx, &(uint32_t){SKIP_MARK}, 4);
    head += contiguous;
    idx = 0;
  }
  memcpy(t->oring + idx, &len, 4);
  memcpy(t->oring + idx + 4, data, len);
  atomic_store(&t->ohead, head + rec);
  return 1;
}

/* Wakes the writer thread if it sleeps (it rechecks the queue under the lock before sleeping). */
static void wake_writer(tun_t *t) {
  if (!atomic_load(&t->osleeping)) return;
  pthread_mutex_lock(&t->olock);
  pthread_cond_signal(&t->oready);
  pthread_mutex_unlock(&t->olock);
}

static void *writer_main(void *arg) {
  tun_t *t = arg;
  uint64_t tail = atomic_load(&t->otail);
  for (;;) {
    uint64_t head = atomic_load(&t->ohead);
    if (head == tail) {
      if (atomic_load(&t->ostopping)) break;
      pthread_mutex_lock(&t->olock);
      atomic_store(&t->osleeping, 1);
      if (atomic_load(&t->ohead) == tail && !atomic_load(&t->ostopping)) pthread_cond_wait(&t->oready, &t->olock);
      atomic_store(&t->osleeping, 0);
      pthread_mutex_unlock(&t->olock);
      continue;
    }
    while (tail < head) {
      uint32_t idx = (uint32_t)(tail % OUT_RING_BYTES), len;
      memcpy(&len, t->oring + idx, 4);
      if (len == SKIP_MARK) {
        tail += OUT_RING_BYTES - idx;
        continue;
      }
      ssize_t n;
      do n = write(t->fd, t->oring + idx + 4, len);
      while (n < 0 && errno == EINTR);
      if (n < 0) {
        atomic_fetch_add(&t->write_errors, 1);
        atomic_store(&t->last_write_errno, errno);
      } else {
        atomic_fetch_add(&t->written, 1);
      }
      tail += (4 + (uint64_t)len + 3) & ~3ull;
      atomic_store(&t->otail, tail);
    }
  }
  return NULL;
}

/* write(handle, packet: Uint8Array) -> 1 when queued, 0 when the write queue is full (the packet is dropped
 * and counted). Errors of the write itself come later, in stats(). */
static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[2], result;
  tun_t *t = tun_args(env, info, 2, argv);
  uint8_t *data;
  size_t len;
  if (!t || !get_bytes(env, argv[1], &data, &len)) return NULL;
  if (len > 65535) {
    napi_throw_range_error(env, "ERR_TUN_ARG", "write(handle, packet): a packet is at most 65535 bytes");
    return NULL;
  }
  int ok = enqueue(t, data, (uint32_t)len);
  wake_writer(t);
  napi_create_int32(env, ok, &result);
  return result;
}

/* writeMany(handle, data: Uint8Array, ends: Uint32Array, count) -> packets queued; packet i is
 * data[ends[i-1] .. ends[i]). One call per batch saves the per-packet crossing into native code. */
static napi_value js_write_many(napi_env env, napi_callback_info info) {
  napi_value argv[4], result;
  tun_t *t = tun_args(env, info, 4, argv);
  uint8_t *data;
  size_t len, ends_len, offset;
  uint32_t count, *ends;
  napi_typedarray_type type;
  napi_value ab;
  if (!t || !get_bytes(env, argv[1], &data, &len)) return NULL;
  if (napi_get_typedarray_info(env, argv[2], &type, &ends_len, (void **)&ends, &ab, &offset) != napi_ok ||
      type != napi_uint32_array || napi_get_value_uint32(env, argv[3], &count) != napi_ok ||
      count > ends_len) {
    napi_throw_type_error(env, "ERR_TUN_ARG", "writeMany(handle, data, ends: Uint32Array, count)");
    return NULL;
  }
  uint32_t ok = 0, start = 0;
  for (uint32_t i = 0; i < count; i++) {
    uint32_t stop = ends[i];
    if (stop < start || stop > len || stop - start > 65535) break;
    ok += (uint32_t)enqueue(t, data + start, stop - start);
    start = stop;
  }
  wake_writer(t);
  napi_create_uint32(env, ok, &result);
  return result;
}

/* ------------------------------------------------------------------ control */

static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = get_args(env, info, 1, argv);
  void *p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, "ERR_TUN_ARG", "close(handle)");
    return NULL;
  }
  close_tun(p);
  return NULL;
}

static napi_value js_stats(napi_env env, napi_callback_info info) {
  napi_value argv[1], obj;
  size_t argc = get_args(env, info, 1, argv);
  void *p = NULL;
  if (argc < 1 || napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, "ERR_TUN_ARG", "stats(handle)");
    return NULL;
  }
  tun_t *t = p;
  napi_create_object(env, &obj);
  set_number(env, obj, "packetsRead", (double)atomic_load(&t->packets));
  set_number(env, obj, "bytesRead", (double)atomic_load(&t->bytes));
  set_number(env, obj, "batches", (double)atomic_load(&t->batches));
  set_number(env, obj, "ringFullWaits", (double)atomic_load(&t->ring_full_waits));
  set_number(env, obj, "readErrors", (double)atomic_load(&t->read_errors));
  set_number(env, obj, "lastReadErrno", (double)atomic_load(&t->last_read_errno));
  set_number(env, obj, "packetsWritten", (double)atomic_load(&t->written));
  set_number(env, obj, "writeErrors", (double)atomic_load(&t->write_errors));
  set_number(env, obj, "lastWriteErrno", (double)atomic_load(&t->last_write_errno));
  set_number(env, obj, "writeQueueDrops", (double)atomic_load(&t->write_drops));
  return obj;
}

/* ref(handle, yes): whether a started reader keeps the event loop alive. */
static napi_value js_ref(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  tun_t *t = tun_args(env, info, 2, argv);
  bool yes = true;
  if (!t || napi_get_value_bool(env, argv[1], &yes) != napi_ok) return NULL;
  if (!t->tsfn) return NULL;
  if (yes) napi_ref_threadsafe_function(env, t->tsfn);
  else napi_unref_threadsafe_function(env, t->tsfn);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      NAPI_METHOD("open", js_open),
      NAPI_METHOD("start", js_start),
      NAPI_METHOD("write", js_write),
      NAPI_METHOD("writeMany", js_write_many),
      NAPI_METHOD("close", js_close),
      NAPI_METHOD("stats", js_stats),
      NAPI_METHOD("ref", js_ref),
  };
  NAPI_EXPORT(env, exports, props);
  return exports;
}
