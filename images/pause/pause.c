/*
 * The pause process of a pod sandbox: PID 1 of the pod's shared namespaces. It does nothing but
 * hold them open, exit cleanly when the runtime stops the sandbox, and reap zombies: with a shared
 * PID namespace, orphaned processes of the pod's containers are re-parented to it.
 *
 * Built static (gcc -static) so that the image needs no libc: FROM scratch plus this one file.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "unknown"
#endif

/* SIGINT and SIGTERM: the runtime stopping the sandbox; exit 0 so that is not reported as a crash. */
static void on_stop(int sig) {
  (void)sig;
  _exit(0);
}

/* SIGCHLD: collect every exited child, so none stays a zombie. */
static void on_child(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static void handle(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) < 0) {
    perror("pause: sigaction");
    exit(1);
  }
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "-v") == 0) {
    printf("pause.c %s\n", VERSION);
    return 0;
  }
  if (getpid() != 1) {
    /* Not an error: tests run it outside a PID namespace too. */
    fprintf(stderr, "pause: warning: not running as PID 1\n");
  }
  handle(SIGINT, on_stop, 0);
  handle(SIGTERM, on_stop, 0);
  handle(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART);
  for (;;) {
    pause();
  }
  return 42; /* not reached */
}
