#include <curl/curl.h>

/* curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call: one
   typed wrapper per argument kind. */
static inline CURLcode tarn_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tarn_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tarn_curl_setopt_ptr(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tarn_curl_setopt_str(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode tarn_curl_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }

typedef size_t (*tarn_curl_data_cb)(char *buffer, size_t size, size_t count, void *context);
static inline CURLcode tarn_curl_setopt_data_cb(CURL *h, CURLoption o, tarn_curl_data_cb f) { return curl_easy_setopt(h, o, f); }

static inline long tarn_curl_response_code(CURL *h) {
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return code;
}

/* The multi interface driven by our own epoll (curl_multi_socket_action): curl says which
   sockets it waits on and when its next timeout is; one wait covers every transfer, and only
   the transfers whose sockets are ready are run. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

typedef int (*tarn_curl_socket_cb)(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
typedef int (*tarn_curl_timer_cb)(CURLM *multi, long timeout_ms, void *userp);

static inline CURLMcode tarn_curl_multi_callbacks(CURLM *m, tarn_curl_socket_cb socket_cb, tarn_curl_timer_cb timer_cb, void *userp) {
    curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, socket_cb);
    curl_multi_setopt(m, CURLMOPT_SOCKETDATA, userp);
    curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, timer_cb);
    return curl_multi_setopt(m, CURLMOPT_TIMERDATA, userp);
}

/* The multi handle's connection cache: by default it holds 4 connections per transfer in
   progress, so a dip in concurrency closes connections that the next burst reopens. */
static inline CURLMcode tarn_curl_multi_max_connections(CURLM *m, long n) {
    return curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, n);
}

static inline int tarn_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/* Watches `fd` for what curl asked (CURL_POLL_IN, _OUT, _INOUT), or stops (CURL_POLL_REMOVE).
   `registered` says whether the caller believes `fd` is in the set: one call then does it,
   and a wrong belief (a descriptor closed and its number reused) costs a second. */
static inline int tarn_epoll_watch(int ep, int fd, int what, int registered) {
    if (what == CURL_POLL_REMOVE) return epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    struct epoll_event ev = {0};
    ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0) | ((what & CURL_POLL_OUT) ? EPOLLOUT : 0);
    ev.data.fd = fd;
    if (epoll_ctl(ep, registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) == 0) return 0;
    return epoll_ctl(ep, registered ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev);
}

/* Waits up to `timeout_ms` and fills `fds` and `flags` (CURL_CSELECT_IN, _OUT, _ERR) for at
   most 64 ready descriptors; returns how many (or -1). */
static inline int tarn_epoll_wait(int ep, int *fds, int *flags, int timeout_ms) {
    struct epoll_event events[64];
    int n = epoll_wait(ep, events, 64, timeout_ms);
    for (int i = 0; i < n; i++) {
        fds[i] = events[i].data.fd;
        flags[i] = ((events[i].events & EPOLLIN) ? CURL_CSELECT_IN : 0)
                 | ((events[i].events & EPOLLOUT) ? CURL_CSELECT_OUT : 0)
                 | ((events[i].events & (EPOLLERR | EPOLLHUP)) ? CURL_CSELECT_ERR : 0);
    }
    return n;
}

/* An eventfd that wakes the wait (registered for reading), its signal and its reset. */
static inline int tarn_wakeup_create(int ep) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd >= 0) {
        struct epoll_event ev = {0};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    return fd;
}
static inline void tarn_wakeup_signal(int fd) { eventfd_write(fd, 1); }
static inline void tarn_wakeup_drain(int fd) { eventfd_t v; eventfd_read(fd, &v); }

/* A large GET read by Tarn itself from a connection curl made (CURLOPT_CONNECT_ONLY): the
   connection's socket, to watch in the epoll set. */
static inline int tarn_curl_active_socket(CURL *h) {
    curl_socket_t s = CURL_SOCKET_BAD;
    if (curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &s) != CURLE_OK) return -1;
    return (int)s;
}
