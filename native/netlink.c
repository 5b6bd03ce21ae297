/*
 * isakmp_netlink: the few system calls the xfrm dataplane needs and Node does not offer.
 *
 * A NETLINK_XFRM socket (open / send / recv / close), a libuv poll on it so that kernel
 * messages (ACKs, acquire and expire events) wake the event loop, and integer socket options on
 * any descriptor (UDP_ENCAP on the NAT-T socket). Every message is built and parsed in
 * TypeScript (src/daemon/dataplane/xfrm-messages.ts); nothing here knows XFRM.
 *
 * Calls go through the C library's recv() and send(), so an LD_PRELOADed shim (interop's
 * fake-xfrm.so) sees them as it sees charon's. Errors are returned as negative errno values
 * (send, recv, setsockopt) or thrown as an Error whose `code` is the errno name (open).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <node_api.h>
#include <uv.h>

#ifndef NETLINK_EXT_ACK
#define NETLINK_EXT_ACK 11
#endif

#define CHECK(call)                                                                                \
    do {                                                                                           \
        if ((call) != napi_ok)                                                                     \
            return NULL;                                                                           \
    } while (0)

static napi_value num(napi_env env, double v)
{
    napi_value r;
    napi_create_double(env, v, &r);
    return r;
}

static int arg_int(napi_env env, napi_value v, int32_t *out)
{
    return napi_get_value_int32(env, v, out) == napi_ok;
}

static napi_value throw_errno(napi_env env, const char *what, int err)
{
    char msg[160];
    snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
    napi_throw_error(env, strerrorname_np(err) ? strerrorname_np(err) : "EIO", msg);
    return NULL;
}

/* open(groupsMask) -> [fd, portid]: a non-blocking NETLINK_XFRM socket bound to the groups. */
static napi_value nl_open(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    int32_t groups = 0;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc >= 1 && !arg_int(env, argv[0], &groups))
        groups = 0;
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_XFRM);
    if (fd < 0)
        return throw_errno(env, "socket(AF_NETLINK, NETLINK_XFRM)", errno);
    int rcv = 8 << 20, snd = 1 << 20, one = 1;
    /* root may exceed rmem_max (SO_RCVBUFFORCE); others get what rmem_max allows */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) != 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
    (void)setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    struct sockaddr_nl sa;
    memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK;
    sa.nl_groups = (uint32_t)groups;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int e = errno;
        close(fd);
        return throw_errno(env, "bind(netlink)", e);
    }
    socklen_t l = sizeof sa;
    if (getsockname(fd, (struct sockaddr *)&sa, &l) != 0) {
        int e = errno;
        close(fd);
        return throw_errno(env, "getsockname(netlink)", e);
    }
    napi_value arr;
    CHECK(napi_create_array_with_length(env, 2, &arr));
    napi_set_element(env, arr, 0, num(env, fd));
    napi_set_element(env, arr, 1, num(env, sa.nl_pid));
    return arr;
}

static int buffer_arg(napi_env env, napi_value v, void **data, size_t *len)
{
    bool is;
    if (napi_is_typedarray(env, v, &is) != napi_ok || !is)
        return 0;
    napi_typedarray_type t;
    napi_value ab;
    size_t off;
    if (napi_get_typedarray_info(env, v, &t, len, data, &ab, &off) != napi_ok || t != napi_uint8_array)
        return 0;
    return 1;
}

/* send(fd, bytes, length) -> bytes sent, or -errno. The kernel handles the requests in this call. */
static napi_value nl_send(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3];
    int32_t fd, n;
    void *data;
    size_t len;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 3 || !arg_int(env, argv[0], &fd) || !buffer_arg(env, argv[1], &data, &len) || !arg_int(env, argv[2], &n) || n < 0 || (size_t)n > len) {
        napi_throw_type_error(env, NULL, "send(fd, Uint8Array, length)");
        return NULL;
    }
    struct sockaddr_nl to;
    memset(&to, 0, sizeof to);
    to.nl_family = AF_NETLINK;
    ssize_t r;
    do
        r = sendto(fd, data, (size_t)n, 0, (struct sockaddr *)&to, sizeof to);
    while (r < 0 && errno == EINTR);
    return num(env, r < 0 ? -errno : (double)r);
}

/* recv(fd, buffer) -> bytes read (one datagram), 0 when nothing is waiting, or -errno. */
static napi_value nl_recv(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    int32_t fd;
    void *data;
    size_t len;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2 || !arg_int(env, argv[0], &fd) || !buffer_arg(env, argv[1], &data, &len)) {
        napi_throw_type_error(env, NULL, "recv(fd, Uint8Array)");
        return NULL;
    }
    ssize_t r;
    do
        r = recv(fd, data, len, MSG_DONTWAIT | MSG_TRUNC);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return num(env, (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno);
    if ((size_t)r > len)
        return num(env, -EMSGSIZE); /* truncated: the caller's buffer is too small */
    return num(env, (double)r);
}

static napi_value nl_close(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    int32_t fd;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || !arg_int(env, argv[0], &fd))
        return NULL;
    return num(env, close(fd) == 0 ? 0 : -errno);
}

/* setsockopt(fd, level, name, value) -> 0 or -errno (an int option) */
static napi_value sock_setint(napi_env env, napi_callback_info info)
{
    size_t argc = 4;
    napi_value argv[4];
    int32_t fd, level, name, value;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 4 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &level) || !arg_int(env, argv[2], &name) || !arg_int(env, argv[3], &value)) {
        napi_throw_type_error(env, NULL, "setsockopt(fd, level, name, value)");
        return NULL;
    }
    int v = value;
    return num(env, setsockopt(fd, level, name, &v, sizeof v) == 0 ? 0 : -errno);
}

/* getsockopt(fd, level, name) -> the int value, or -errno - 2^32 (never a valid int) */
static napi_value sock_getint(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3];
    int32_t fd, level, name;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 3 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &level) || !arg_int(env, argv[2], &name)) {
        napi_throw_type_error(env, NULL, "getsockopt(fd, level, name)");
        return NULL;
    }
    int v = 0;
    socklen_t l = sizeof v;
    if (getsockopt(fd, level, name, &v, &l) != 0)
        return num(env, -(double)errno - 4294967296.0);
    return num(env, v);
}

/* localPort(fd) -> [family, port, type] of a bound inet socket, or undefined */
static napi_value sock_local(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    int32_t fd;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || !arg_int(env, argv[0], &fd))
        return NULL;
    struct sockaddr_storage ss;
    socklen_t l = sizeof ss;
    int type = 0;
    socklen_t tl = sizeof type;
    if (getsockname(fd, (struct sockaddr *)&ss, &l) != 0 || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0)
        return NULL;
    int port = -1;
    if (ss.ss_family == AF_INET)
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        return NULL;
    napi_value arr;
    CHECK(napi_create_array_with_length(env, 3, &arr));
    napi_set_element(env, arr, 0, num(env, ss.ss_family == AF_INET ? 4 : 6));
    napi_set_element(env, arr, 1, num(env, port));
    napi_set_element(env, arr, 2, num(env, type));
    return arr;
}

/* ---------------------------------------------------------------- readiness on the event loop */

typedef struct {
    uv_poll_t poll;
    napi_env env;
    napi_ref cb;
    int closed;
} watcher;

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

static void on_readable(uv_poll_t *p, int status, int events)
{
    (void)events;
    watcher *w = p->data;
    napi_handle_scope scope;
    napi_open_handle_scope(w->env, &scope);
    napi_value cb, recv, arg;
    napi_get_reference_value(w->env, w->cb, &cb);
    napi_get_global(w->env, &recv); /* napi_make_callback needs an object as the receiver */
    arg = num(w->env, status < 0 ? status : 0);
    napi_value ignored;
    /* an exception thrown by the callback is reported as uncaught, as for any callback */
    if (napi_make_callback(w->env, NULL, recv, cb, 1, &arg, &ignored) != napi_ok) {
        bool pending = false;
        napi_is_exception_pending(w->env, &pending);
        if (pending) {
            napi_value err;
            napi_get_and_clear_last_exception(w->env, &err);
            napi_fatal_exception(w->env, err);
        }
    }
    napi_close_handle_scope(w->env, scope);
}

static void watcher_finalize(napi_env env, void *data, void *hint)
{
    (void)hint;
    watcher *w = data;
    if (!w->closed) {
        w->closed = 1;
        napi_delete_reference(env, w->cb);
        uv_poll_stop(&w->poll);
        uv_close((uv_handle_t *)&w->poll, on_closed);
    }
}

/* watch(fd, callback) -> handle: callback(status) whenever fd is readable. Unref'd: it never keeps the loop alive. */
static napi_value nl_watch(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    int32_t fd;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2 || !arg_int(env, argv[0], &fd)) {
        napi_throw_type_error(env, NULL, "watch(fd, callback)");
        return NULL;
    }
    uv_loop_t *loop;
    CHECK(napi_get_uv_event_loop(env, &loop));
    watcher *w = calloc(1, sizeof *w);
    if (!w)
        return throw_errno(env, "watch", ENOMEM);
    w->env = env;
    w->poll.data = w;
    int r = uv_poll_init(loop, &w->poll, fd);
    if (r != 0) {
        free(w);
        return throw_errno(env, "uv_poll_init", -r);
    }
    napi_create_reference(env, argv[1], 1, &w->cb);
    uv_poll_start(&w->poll, UV_READABLE, on_readable);
    uv_unref((uv_handle_t *)&w->poll);
    napi_value ext;
    CHECK(napi_create_external(env, w, NULL, NULL, &ext));
    return ext;
}

/* unwatch(handle): stops the poll (before the descriptor is closed) */
static napi_value nl_unwatch(napi_env env, napi_callback_info info)
{
    size_t argc = 1;
    napi_value argv[1];
    void *data;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 1 || napi_get_value_external(env, argv[0], &data) != napi_ok)
        return NULL;
    watcher_finalize(env, data, NULL);
    return NULL;
}

/*
 * udpReusePort(family, address, port) -> fd, or -errno: a UDP socket with SO_REUSEPORT bound to
 * address:port (IPv6 sockets v6-only), for the engine shards' socket groups (one socket per
 * shard, src/daemon/shards/socket-group.ts). Close-on-exec: a child gets it through its stdio.
 */
static napi_value udp_reuseport(napi_env env, napi_callback_info info)
{
    size_t argc = 3;
    napi_value argv[3];
    int32_t family, port;
    char addr[64];
    size_t alen = 0;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 3 || !arg_int(env, argv[0], &family) || napi_get_value_string_utf8(env, argv[1], addr, sizeof addr, &alen) != napi_ok || !arg_int(env, argv[2], &port) || (family != 4 && family != 6) || port < 0 || port > 65535) {
        napi_throw_type_error(env, NULL, "udpReusePort(family 4|6, address, port)");
        return NULL;
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (family == 4) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        if (inet_pton(AF_INET, addr, &a->sin_addr) != 1)
            return num(env, -EINVAL);
        sl = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, addr, &a->sin6_addr) != 1)
            return num(env, -EINVAL);
        sl = sizeof *a;
    }
    int fd = socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return num(env, -errno);
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 || (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) || bind(fd, (struct sockaddr *)&ss, sl) != 0) {
        int err = errno;
        close(fd);
        return num(env, -err);
    }
    return num(env, fd);
}

/*
 * attachReuseportCbpf(fd, program) -> 0 or -errno: SO_ATTACH_REUSEPORT_CBPF with a classic BPF
 * program given as its struct sock_filter array in machine byte order (8 bytes per instruction).
 */
static napi_value attach_cbpf(napi_env env, napi_callback_info info)
{
    size_t argc = 2;
    napi_value argv[2];
    int32_t fd;
    bool is;
    void *data;
    size_t len;
    CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
    if (argc < 2 || !arg_int(env, argv[0], &fd) || napi_is_typedarray(env, argv[1], &is) != napi_ok || !is) {
        napi_throw_type_error(env, NULL, "attachReuseportCbpf(fd, Uint8Array)");
        return NULL;
    }
    napi_typedarray_type type;
    napi_value ab;
    size_t off;
    CHECK(napi_get_typedarray_info(env, argv[1], &type, &len, &data, &ab, &off));
    if (type != napi_uint8_array || len == 0 || len % sizeof(struct sock_filter) != 0 || len / sizeof(struct sock_filter) > 4096)
        return num(env, -EINVAL);
    struct sock_fprog prog;
    prog.len = (unsigned short)(len / sizeof(struct sock_filter));
    prog.filter = (struct sock_filter *)data;
    return num(env, setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) == 0 ? 0 : -errno);
}

static napi_value init(napi_env env, napi_value exports)
{
    napi_property_descriptor props[] = {
        {"open", NULL, nl_open, NULL, NULL, NULL, napi_default, NULL},
        {"send", NULL, nl_send, NULL, NULL, NULL, napi_default, NULL},
        {"recv", NULL, nl_recv, NULL, NULL, NULL, napi_default, NULL},
        {"close", NULL, nl_close, NULL, NULL, NULL, napi_default, NULL},
        {"watch", NULL, nl_watch, NULL, NULL, NULL, napi_default, NULL},
        {"unwatch", NULL, nl_unwatch, NULL, NULL, NULL, napi_default, NULL},
        {"setsockoptInt", NULL, sock_setint, NULL, NULL, NULL, napi_default, NULL},
        {"getsockoptInt", NULL, sock_getint, NULL, NULL, NULL, napi_default, NULL},
        {"localAddress", NULL, sock_local, NULL, NULL, NULL, napi_default, NULL},
        {"udpReusePort", NULL, udp_reuseport, NULL, NULL, NULL, napi_default, NULL},
        {"attachReuseportCbpf", NULL, attach_cbpf, NULL, NULL, NULL, napi_default, NULL},
    };
    napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
    return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
