#include "monitor/host_signals.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "migration/migration.h"
#include "monitor/qmp.h"
#include "util/thread.h"

struct host_signals {
	struct vm *vm;
	struct qmp_server *qmp;
	sigset_t set;
	/* The terminal as qmig found it: readline's mode must not outlive
	 * the process, and the main thread is inside readline when the
	 * signal comes. */
	bool have_termios;
	struct termios termios;
};

/* One per process: the signal mask is the process's too. */
static struct host_signals signals;

void host_signals_block(bool with_sigint)
{
	sigemptyset(&signals.set);
	sigaddset(&signals.set, SIGTERM);
	sigaddset(&signals.set, SIGHUP);
	if (with_sigint)
		sigaddset(&signals.set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &signals.set, NULL);
	signals.have_termios = isatty(STDIN_FILENO) &&
			       tcgetattr(STDIN_FILENO, &signals.termios) == 0;
}

/* The sender's first argument, as QEMU names it (its /proc cmdline). */
static void sender_name(pid_t pid, char *name, size_t size)
{
	snprintf(name, size, "<unknown process>");
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, name, size - 1);
	close(fd);
	if (n > 0)
		name[n] = '\0';
	else
		snprintf(name, size, "<unknown process>");
}

static void report(const siginfo_t *info)
{
	/* Sent by a process (kill, sigqueue), not by the kernel. */
	if (info->si_code > 0 || info->si_pid <= 0) {
		fprintf(stderr, "qmig: terminating on signal %d\n",
			info->si_signo);
		return;
	}
	char name[256];
	sender_name(info->si_pid, name, sizeof(name));
	fprintf(stderr, "qmig: terminating on signal %d from pid %d (%s)\n",
		info->si_signo, (int)info->si_pid, name);
}

static void *wait_signals(void *opaque)
{
	struct host_signals *hs = opaque;
	siginfo_t info;
	while (sigwaitinfo(&hs->set, &info) < 0)
		;
	report(&info);
	pthread_mutex_lock(&hs->vm->lock);
	vm_emit_event_locked(hs->vm, &(struct vm_event){
		.kind = VM_EVENT_HOST_SIGNAL });
	/* As `quit` does: a migration that ended is joined (TSan reports a
	 * finished thread nobody joined). */
	migration_reap_locked(hs->vm);
	pthread_mutex_unlock(&hs->vm->lock);
	qmp_server_flush(hs->qmp);
	if (hs->have_termios)
		tcsetattr(STDIN_FILENO, TCSANOW, &hs->termios);
	fflush(stdout);
	/* As `quit`: no teardown under threads that may still run. */
	_exit(0);
}

bool host_signals_start(struct vm *vm, struct qmp_server *qmp,
			struct error **errp)
{
	signals.vm = vm;
	signals.qmp = qmp;
	pthread_t tid;
	if (!thread_start(&tid, wait_signals, &signals, "host-signals", errp))
		return false;
	pthread_detach(tid);
	return true;
}
