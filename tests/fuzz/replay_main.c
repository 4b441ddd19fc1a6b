/*
 * Runs a libFuzzer entry point over files, without libFuzzer: each argument
 * is a corpus file (or a directory of them) fed once to
 * LLVMFuzzerTestOneInput().  `make fuzz-replay` builds it with the normal
 * compiler (and sanitizers, under check-asan) to replay the seed corpus.
 * Prints one TAP line per file; exit status 1 if a file cannot be read.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path, int *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, got;

	if (!f) {
		printf("not ok %d - %s: cannot open\n", ++*n, path);
		return -1;
	}
	do {
		if (len == cap) {
			cap = cap ? 2 * cap : 4096;
			buf = realloc(buf, cap);
			if (!buf)
				abort();
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got);
	fclose(f);
	/* an exact-size copy, so that sanitizers see reads past the input */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact)
		abort();
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	printf("ok %d - %s\n", ++*n, path);
	return 0;
}

int main(int argc, char **argv)
{
	int n = 0, rc = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;

		if (stat(argv[i], &st) || !S_ISDIR(st.st_mode)) {
			rc |= run_file(argv[i], &n);
			continue;
		}
		d = opendir(argv[i]);
		if (!d) {
			printf("not ok %d - %s: cannot open\n", ++n, argv[i]);
			rc = -1;
			continue;
		}
		while ((e = readdir(d))) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			rc |= run_file(path, &n);
		}
		closedir(d);
	}
	printf("1..%d\n", n);
	return rc ? 1 : 0;
}
