/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Runs a libFuzzer target over every file of the directories (or files)
 * given on the command line, so a seed corpus is an ordinary regression test
 * in builds without libFuzzer.  Exit 0 when every input ran, 77 (skip) when
 * nothing was found, 1 on an I/O error.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	int ret = -1;

	if (!f)
		goto out;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	/* One spare byte so a zero-length input still has a valid pointer. */
	if (!(buf = malloc((size_t)n + 1)))
		goto out;
	if (fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto out;
	fclose(f);
	f = NULL;
	/* A copy of exactly the input's size, so ASan catches reads past it. */
	{
		uint8_t *exact = malloc(n ? (size_t)n : 1);
		if (!exact)
			goto out;
		memcpy(exact, buf, (size_t)n);
		LLVMFuzzerTestOneInput(exact, (size_t)n);
		free(exact);
	}
	ret = 0;
out:
	if (ret)
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
	if (f)
		fclose(f);
	free(buf);
	return ret;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	size_t ran = 0;
	int bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		DIR *d;
		struct dirent *e;
		char **names = NULL;
		size_t n = 0;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]) != 0;
			ran++;
			continue;
		}
		if (!(d = opendir(argv[i]))) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		while ((e = readdir(d))) {
			char **nn;
			if (e->d_name[0] == '.')
				continue;
			if (!(nn = realloc(names, (n + 1) * sizeof(*names))) ||
			    !(nn[n] = malloc(strlen(argv[i]) + strlen(e->d_name) + 2))) {
				fprintf(stderr, "out of memory\n");
				return 1;
			}
			names = nn;
			snprintf(names[n], strlen(argv[i]) + strlen(e->d_name) + 2, "%s/%s",
			         argv[i], e->d_name);
			n++;
		}
		closedir(d);
		qsort(names, n, sizeof(*names), cmp);
		for (size_t k = 0; k < n; k++) {
			bad |= run_file(names[k]) != 0;
			ran++;
			free(names[k]);
		}
		free(names);
	}
	printf("ran %zu inputs\n", ran);
	if (bad)
		return 1;
	return ran ? 0 : 77;
}
