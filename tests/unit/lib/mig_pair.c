#include "tests/unit/lib/mig_pair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "migration/options_hmp.h"
#include "migration/ram_load.h"
#include "migration/transport.h"

static struct timespec deadline(void)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t); /* the condvars' clock */
	t.tv_sec += TEST_DEADLINE_S;
	return t;
}

/* One wait; past the deadline the test fails (with mu released, so that
 * the next test does not hang on it). */
static void wait_until(pthread_cond_t *cv, pthread_mutex_t *mu,
		       const struct timespec *until, const char *what)
{
	if (pthread_cond_timedwait(cv, mu, until) == ETIMEDOUT) {
		pthread_mutex_unlock(mu);
		fail_msg("waited %d s for %s", TEST_DEADLINE_S, what);
	}
}

/* vm->event_fn: runs with vm.lock held. */
static void record_event(void *opaque, const struct vm_event *ev)
{
	struct test_source *s = opaque;
	char word[48];
	switch (ev->kind) {
	case VM_EVENT_STOP:
		snprintf(word, sizeof(word), "STOP");
		break;
	case VM_EVENT_RESUME:
		snprintf(word, sizeof(word), "RESUME");
		break;
	case VM_EVENT_MIGRATION:
		snprintf(word, sizeof(word), "%s", ev->status);
		break;
	case VM_EVENT_MIGRATION_PASS:
		snprintf(word, sizeof(word), "pass:%llu",
			 (unsigned long long)ev->pass);
		break;
	case VM_EVENT_RESET:
		snprintf(word, sizeof(word), "RESET");
		break;
	case VM_EVENT_POWERDOWN:
		snprintf(word, sizeof(word), "POWERDOWN");
		break;
	case VM_EVENT_SHUTDOWN:
		snprintf(word, sizeof(word), "SHUTDOWN");
		break;
	case VM_EVENT_HOST_SIGNAL:
		snprintf(word, sizeof(word), "HOST_SIGNAL");
		break;
	}
	size_t used = strlen(s->events);
	snprintf(s->events + used, sizeof(s->events) - used, "%s%s",
		 used ? " " : "", word);
}

void test_source_init(struct test_source *s, uint64_t ram_bytes)
{
	memset(s, 0, sizeof(*s));
	struct error *err = NULL;
	if (machine_init(&s->vm, ram_bytes, &err) < 0)
		fail_msg("machine_init: %s", err->msg);
	ram_fill_mixed(&s->vm.ram, 5);
	pthread_mutex_lock(&s->vm.lock);
	vm_start_locked(&s->vm);
	s->vm.event_fn = record_event; /* after the start: no RESUME yet */
	s->vm.event_opaque = s;
	pthread_mutex_unlock(&s->vm.lock);
}

void test_source_release(struct test_source *s)
{
	test_source_wait_end(s);
	machine_release(&s->vm);
}

void test_source_cap(struct test_source *s, const char *name, bool on)
{
	struct error *err = NULL;
	if (!mig_options_set_cap_hmp(s->vm.options, name, on, &err))
		fail_msg("%s: %s", name, err->msg);
}

void test_source_param(struct test_source *s, const char *name,
		       const char *value)
{
	struct error *err = NULL;
	if (!mig_options_set_param_hmp(s->vm.options, name, value, false,
				       &err))
		fail_msg("%s %s: %s", name, value, err->msg);
}

/* The running peer's source end, as fd:TEST_PEER_FD (one peer at a time,
 * as the tests use them); no has(): names are looked up at connect. */
static struct transport_fd_names peer_fds;

const struct transport_fd_names *test_peer_fd_names(void)
{
	return &peer_fds;
}

bool test_source_migrate(struct test_source *s, const char *uri,
			 struct error **errp)
{
	struct migrate_request req = { .uri = uri, .fds = &peer_fds };
	pthread_mutex_lock(&s->vm.lock);
	bool ok = migration_start(&s->vm, &req, errp);
	if (ok) /* before the thread can report: it needs the lock */
		s->vm.outgoing->waiter_reports_error = true;
	pthread_mutex_unlock(&s->vm.lock);
	return ok;
}

void test_source_wait_status(struct test_source *s, enum mig_status status)
{
	struct timespec until = deadline();
	pthread_mutex_lock(&s->vm.lock);
	while (s->vm.outgoing->status != status)
		wait_until(&s->vm.changed, &s->vm.lock, &until,
			   mig_status_name(status));
	pthread_mutex_unlock(&s->vm.lock);
}

enum mig_status test_source_wait_end(struct test_source *s)
{
	struct timespec until = deadline();
	pthread_mutex_lock(&s->vm.lock);
	while (mig_status_is_running(s->vm.outgoing->status))
		wait_until(&s->vm.changed, &s->vm.lock, &until,
			   "the end of the migration");
	migration_reap_locked(&s->vm);
	enum mig_status status = s->vm.outgoing->status;
	pthread_mutex_unlock(&s->vm.lock);
	return status;
}

void test_source_events(struct test_source *s, char *out, size_t size,
			bool clear)
{
	pthread_mutex_lock(&s->vm.lock);
	snprintf(out, size, "%s", s->events);
	if (clear)
		s->events[0] = '\0';
	pthread_mutex_unlock(&s->vm.lock);
}

enum runstate test_source_runstate(struct test_source *s)
{
	pthread_mutex_lock(&s->vm.lock);
	enum runstate state = s->vm.runstate;
	pthread_mutex_unlock(&s->vm.lock);
	return state;
}

/* ---- the peer ---- */

static int take_fd(void *opaque, const char *name)
{
	struct test_peer *p = opaque;
	if (strcmp(name, TEST_PEER_FD))
		return -1;
	pthread_mutex_lock(&p->lock);
	int fd = p->src_fd;
	p->src_fd = -1;
	pthread_mutex_unlock(&p->lock);
	return fd;
}

static void *peer_main(void *arg)
{
	struct test_peer *p = arg;
	pthread_mutex_lock(&p->lock);
	while (p->hold)
		pthread_cond_wait(&p->cv, &p->lock);
	pthread_mutex_unlock(&p->lock);

	/* A dup, so that p->fd stays valid for test_peer_hang_up(). */
	struct qemu_file *f = qemu_file_new_fd(dup(p->fd), false);
	struct ram_load rl;
	ram_load_init(&rl, &p->g.ram, p->compress, 2);
	struct error *err = NULL;
	struct savevm_load_result result;
	int ret = savevm_load(f, &rl, &result, NULL, &err);
	ram_load_release(&rl);
	qemu_file_close(f);
	/* As a destination that is done with the stream: the source's
	 * writes fail from now on rather than fill a dead socket. */
	shutdown(p->fd, SHUT_RDWR);

	pthread_mutex_lock(&p->lock);
	p->ret = ret;
	p->err = err;
	p->result = result;
	p->done = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

void test_peer_start(struct test_peer *p, uint64_t ram_bytes, bool compress,
		     bool hold)
{
	memset(p, 0, sizeof(*p));
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cv, NULL);
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
				    sv), 0);
	int small = 64 << 10;
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small,
				    sizeof(small)), 0);
	p->src_fd = sv[0];
	p->fd = sv[1];
	guarded_ram_init(&p->g, ram_bytes);
	p->compress = compress;
	p->hold = hold;
	peer_fds = (struct transport_fd_names){ .take = take_fd, .opaque = p };
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
}

void test_peer_release_hold(struct test_peer *p)
{
	pthread_mutex_lock(&p->lock);
	p->hold = false;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->lock);
}

void test_peer_hang_up(struct test_peer *p)
{
	shutdown(p->fd, SHUT_RDWR);
	test_peer_release_hold(p);
}

int test_peer_join(struct test_peer *p)
{
	struct timespec until = deadline();
	pthread_mutex_lock(&p->lock);
	while (!p->done)
		wait_until(&p->cv, &p->lock, &until, "the destination");
	int ret = p->ret;
	pthread_mutex_unlock(&p->lock);
	return ret;
}

void test_peer_release(struct test_peer *p)
{
	/* A source end nobody took: closed, so the loader sees the end. */
	peer_fds = (struct transport_fd_names){ 0 };
	pthread_mutex_lock(&p->lock);
	if (p->src_fd >= 0)
		close(p->src_fd);
	p->src_fd = -1;
	pthread_mutex_unlock(&p->lock);
	test_peer_release_hold(p);
	test_peer_join(p);
	pthread_join(p->thread, NULL);
	close(p->fd);
	guarded_ram_release(&p->g);
	error_free(p->err);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cv);
}
